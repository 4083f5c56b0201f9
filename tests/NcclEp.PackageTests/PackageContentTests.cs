using System;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Reflection.Metadata;
using System.Reflection.PortableExecutable;
using System.Xml.Linq;
using Xunit;

namespace NcclEp.PackageTests;

/// <summary>What <c>dotnet pack -c Release</c> puts in the NcclEp package (NcclEp.Graphs travels inside it).</summary>
[Collection(PackagesCollection.Name)]
public sealed class PackageContentTests
{
    private readonly PackedPackages _packages;

    public PackageContentTests(PackedPackages packages) => _packages = packages;

    [Fact]
    public void NcclEp_package_holds_the_library_the_analyzers_and_the_readme()
    {
        using ZipArchive zip = Open("NcclEp");
        HashSet<string> entries = Entries(zip);
        Assert.Contains("lib/net10.0/NcclEp.dll", entries);
        Assert.Contains("lib/net10.0/NcclEp.xml", entries);
        Assert.Contains("analyzers/dotnet/cs/NcclEp.Generators.dll", entries);
        Assert.Contains("README.md", entries);
        Assert.DoesNotContain(entries, e => e.EndsWith(".pdb", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(entries, e => e.StartsWith("lib/netstandard2.0/", StringComparison.Ordinal));
    }

    [Fact]
    public void NcclEp_package_carries_version_license_readme_description_tags_and_a_repository_without_urls()
    {
        XElement metadata = Metadata("NcclEp");
        XNamespace ns = metadata.Name.Namespace;
        Assert.Equal("NcclEp", (string?)metadata.Element(ns + "id"));
        Assert.Equal(PackedPackages.Version, (string?)metadata.Element(ns + "version"));
        XElement? license = metadata.Element(ns + "license");
        Assert.NotNull(license);
        Assert.Equal("expression", (string?)license.Attribute("type"));
        Assert.Equal("MIT", license.Value);
        Assert.Equal("README.md", (string?)metadata.Element(ns + "readme"));
        Assert.False(string.IsNullOrWhiteSpace((string?)metadata.Element(ns + "description")), "no description");
        Assert.False(string.IsNullOrWhiteSpace((string?)metadata.Element(ns + "tags")), "no tags");
        XElement? repository = metadata.Element(ns + "repository");
        Assert.NotNull(repository);
        Assert.Equal("git", (string?)repository.Attribute("type"));
        Assert.Null(repository.Attribute("url"));
        Assert.Null(metadata.Element(ns + "projectUrl"));
    }

    /// <summary>
    /// NcclEp.Graphs is compiled against NcclEp's internals, so it may only ever run beside the NcclEp.dll it was built
    /// with: it ships in the same package (no package of its own that could be restored beside another NcclEp), and the
    /// NcclEp it references is exactly the version of the NcclEp.dll beside it.
    /// </summary>
    [Fact]
    public void NcclEp_Graphs_ships_inside_the_NcclEp_package_beside_the_NcclEp_it_was_built_against()
    {
        using ZipArchive zip = Open("NcclEp");
        HashSet<string> entries = Entries(zip);
        Assert.Contains("lib/net10.0/NcclEp.Graphs.dll", entries);
        Assert.Contains("lib/net10.0/NcclEp.Graphs.xml", entries);
        Assert.False(File.Exists(_packages.Package("NcclEp.Graphs")), "an NcclEp.Graphs package was packed: it could be restored beside another NcclEp version");

        XElement metadata = Metadata("NcclEp");
        XNamespace ns = metadata.Name.Namespace;
        Assert.DoesNotContain(metadata.Descendants(ns + "dependency"), d => ((string?)d.Attribute("id"))?.StartsWith("NcclEp", StringComparison.Ordinal) == true);

        using var ncclEp = new AssemblyMetadata(zip, "lib/net10.0/NcclEp.dll");
        using var graphs = new AssemblyMetadata(zip, "lib/net10.0/NcclEp.Graphs.dll");
        Version built = ncclEp.Reader.GetAssemblyDefinition().Version;
        AssemblyReference reference = graphs.Reader.AssemblyReferences
            .Select(graphs.Reader.GetAssemblyReference)
            .Single(r => graphs.Reader.GetString(r.Name) == "NcclEp");
        Assert.Equal(built, reference.Version);
        Assert.Equal(new Version(PackedPackages.Version + ".0"), built);
    }

    [Fact]
    public void Packed_NcclEp_dll_embeds_every_kernel_source_of_the_repository()
    {
        string[] expected = Directory.GetFiles(Path.Combine(_packages.RepoRoot, "src", "NcclEp", "Kernels"))
            .Where(f => f.EndsWith(".cu", StringComparison.Ordinal) || f.EndsWith(".cuh", StringComparison.Ordinal))
            .Select(f => "NcclEp.Kernels." + Path.GetFileName(f))
            .OrderBy(n => n, StringComparer.Ordinal)
            .ToArray();
        Assert.NotEmpty(expected);

        using ZipArchive zip = Open("NcclEp");
        using var dll = new AssemblyMetadata(zip, "lib/net10.0/NcclEp.dll");
        MetadataReader reader = dll.Reader;
        var resources = new HashSet<string>(StringComparer.Ordinal);
        foreach (ManifestResourceHandle handle in reader.ManifestResources)
            resources.Add(reader.GetString(reader.GetManifestResource(handle).Name));
        foreach (string name in expected) Assert.Contains(name, resources);
    }

    [Fact]
    public void The_package_carries_the_readme_for_package_users_and_a_copyright()
    {
        string expected = File.ReadAllText(Path.Combine(_packages.RepoRoot, PackedPackages.ReadmeSource));
        using ZipArchive zip = Open("NcclEp");
        ZipArchiveEntry readme = zip.GetEntry("README.md") ?? throw new InvalidOperationException("no README.md in NcclEp");
        using var reader = new StreamReader(readme.Open());
        Assert.Equal(expected, reader.ReadToEnd());
        XElement metadata = Metadata("NcclEp");
        Assert.Contains("NcclEp contributors", (string?)metadata.Element(metadata.Name.Namespace + "copyright") ?? "", StringComparison.Ordinal);
    }

    [Fact]
    public void The_license_expression_matches_the_license_file_of_the_repository()
    {
        XElement metadata = Metadata("NcclEp");
        string expression = metadata.Element(metadata.Name.Namespace + "license")!.Value;
        string[] file = File.ReadAllLines(Path.Combine(_packages.RepoRoot, "LICENSE"));
        Assert.Equal($"{expression} License", file[0]);
    }

    [Fact]
    public void Packed_assemblies_are_deterministic_and_their_pdbs_hold_mapped_source_paths()
    {
        using ZipArchive zip = Open("NcclEp");
        using ZipArchive symbols = ZipFile.OpenRead(_packages.SymbolPackage("NcclEp"));
        foreach (string id in new[] { "NcclEp", "NcclEp.Graphs" })
        {
            using MemoryStream dll = Read(zip, $"lib/net10.0/{id}.dll");
            using var pe = new PEReader(dll);
            Assert.Contains(pe.ReadDebugDirectory(), entry => entry.Type == DebugDirectoryEntryType.Reproducible);

            using MemoryStream pdbBytes = Read(symbols, $"lib/net10.0/{id}.pdb");
            using MetadataReaderProvider provider = MetadataReaderProvider.FromPortablePdbStream(pdbBytes);
            MetadataReader pdb = provider.GetMetadataReader();
            string[] documents = pdb.Documents.Select(d => pdb.GetString(pdb.GetDocument(d).Name)).ToArray();
            Assert.Contains(documents, path => path.StartsWith("/_/src/", StringComparison.Ordinal));
            Assert.DoesNotContain(documents, path => path.Contains(_packages.Root, StringComparison.Ordinal)); // no path of the machine that packed
        }
    }

    private static MemoryStream Read(ZipArchive zip, string entry)
    {
        ZipArchiveEntry found = zip.GetEntry(entry) ?? throw new InvalidOperationException($"no {entry}");
        var bytes = new MemoryStream();
        using (Stream s = found.Open()) s.CopyTo(bytes);
        bytes.Position = 0;
        return bytes;
    }

    [Fact]
    public void Symbol_package_holds_the_portable_pdbs_of_both_assemblies()
    {
        Assert.True(_packages.Packed(out string why), why);
        string path = _packages.SymbolPackage("NcclEp");
        Assert.True(File.Exists(path), $"{path} was not written");
        using ZipArchive zip = ZipFile.OpenRead(path);
        foreach (string assembly in new[] { "NcclEp", "NcclEp.Graphs" })
        {
            ZipArchiveEntry pdb = zip.GetEntry($"lib/net10.0/{assembly}.pdb") ?? throw new InvalidOperationException($"no {assembly}.pdb in {path}");
            using Stream s = pdb.Open();
            var magic = new byte[4];
            s.ReadExactly(magic);
            Assert.Equal("BSJB"u8.ToArray(), magic); // portable PDB metadata signature
        }
    }

    private ZipArchive Open(string id)
    {
        Assert.True(_packages.Packed(out string why), why);
        string path = _packages.Package(id);
        Assert.True(File.Exists(path), $"{path} was not written; feed holds: {string.Join(", ", Directory.GetFiles(_packages.Feed).Select(Path.GetFileName))}");
        return ZipFile.OpenRead(path);
    }

    private XElement Metadata(string id)
    {
        using ZipArchive zip = Open(id);
        ZipArchiveEntry nuspec = zip.GetEntry(id + ".nuspec") ?? throw new InvalidOperationException($"no {id}.nuspec");
        using Stream s = nuspec.Open();
        XDocument doc = XDocument.Load(s);
        XElement root = doc.Root ?? throw new InvalidOperationException("empty nuspec");
        return root.Element(root.Name.Namespace + "metadata") ?? throw new InvalidOperationException("nuspec without metadata");
    }

    private static HashSet<string> Entries(ZipArchive zip) =>
        new(zip.Entries.Select(e => e.FullName.Replace('\\', '/')), StringComparer.Ordinal);

    /// <summary>The metadata of an assembly read straight from the package.</summary>
    private sealed class AssemblyMetadata : IDisposable
    {
        private readonly MemoryStream _bytes = new();
        private readonly PEReader _pe;

        public AssemblyMetadata(ZipArchive zip, string entry)
        {
            ZipArchiveEntry dll = zip.GetEntry(entry) ?? throw new InvalidOperationException($"no {entry} in the package");
            using (Stream s = dll.Open()) s.CopyTo(_bytes);
            _bytes.Position = 0;
            _pe = new PEReader(_bytes);
            Reader = _pe.GetMetadataReader();
        }

        public MetadataReader Reader { get; }

        public void Dispose()
        {
            _pe.Dispose();
            _bytes.Dispose();
        }
    }
}
