using System;
using System.Buffers.Binary;
using System.Text;

namespace NcclEp.Tests.Cuda;

/// <summary>Reads a cubin's ELF64 sections and symbols: a kernel's static shared memory, an initialised global's value.</summary>
internal static class CubinSections
{
    private const int SymbolTable = 2;  // SHT_SYMTAB
    private const int SymbolBytes = 24; // Elf64_Sym

    /// <summary>
    /// The size of section <c>.nv.shared.KERNEL</c> (the kernel's static shared memory), or 0 when the kernel declares none;
    /// throws when the image is not ELF64 or has no function of that name.
    /// </summary>
    public static long StaticSharedBytes(byte[] cubin, string kernel)
    {
        bool hasCode = false;
        long shared = 0;
        foreach (Section s in Sections(cubin))
        {
            if (s.Name == $".text.{kernel}") hasCode = true;
            if (s.Name == $".nv.shared.{kernel}") shared = s.Size;
        }
        if (!hasCode) throw new ArgumentException($"the image has no function {kernel}", nameof(kernel));
        return shared;
    }

    /// <summary>The initial value of the 4-byte global <paramref name="name"/>, or null when the image has no such symbol.</summary>
    public static int? GlobalInt32(byte[] cubin, string name)
    {
        Section[] sections = Sections(cubin);
        foreach (Section table in sections)
        {
            if (table.Type != SymbolTable) continue;
            Section names = sections[table.Link];
            for (long at = table.Offset; at + SymbolBytes <= table.Offset + table.Size; at += SymbolBytes)
            {
                ReadOnlySpan<byte> symbol = cubin.AsSpan((int)at, SymbolBytes);
                if (String(cubin, names.Offset + BinaryPrimitives.ReadUInt32LittleEndian(symbol)) != name) continue;
                Section holder = sections[BinaryPrimitives.ReadUInt16LittleEndian(symbol[6..])];
                long value = BinaryPrimitives.ReadInt64LittleEndian(symbol[8..]), size = BinaryPrimitives.ReadInt64LittleEndian(symbol[16..]);
                if (size != sizeof(int)) throw new ArgumentException($"{name} is {size} bytes, not 4", nameof(name));
                return BinaryPrimitives.ReadInt32LittleEndian(cubin.AsSpan((int)(holder.Offset + value), sizeof(int)));
            }
        }
        return null;
    }

    private readonly record struct Section(string Name, int Type, long Offset, long Size, int Link);

    private static Section[] Sections(byte[] cubin)
    {
        ReadOnlySpan<byte> image = cubin;
        if (image.Length < 64 || !image[..4].SequenceEqual("\u007fELF"u8) || image[4] != 2)
            throw new ArgumentException("not an ELF64 image", nameof(cubin));
        long table = BinaryPrimitives.ReadInt64LittleEndian(image[0x28..]);
        int entry = BinaryPrimitives.ReadUInt16LittleEndian(image[0x3A..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(image[0x3C..]);
        int namesIndex = BinaryPrimitives.ReadUInt16LittleEndian(image[0x3E..]);
        long namesOffset = BinaryPrimitives.ReadInt64LittleEndian(image.Slice((int)(table + (long)namesIndex * entry), entry)[0x18..]);
        var sections = new Section[count];
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> h = image.Slice((int)(table + (long)i * entry), entry);
            sections[i] = new Section(String(cubin, namesOffset + BinaryPrimitives.ReadUInt32LittleEndian(h)), (int)BinaryPrimitives.ReadUInt32LittleEndian(h[4..]),
                BinaryPrimitives.ReadInt64LittleEndian(h[0x18..]), BinaryPrimitives.ReadInt64LittleEndian(h[0x20..]), (int)BinaryPrimitives.ReadUInt32LittleEndian(h[0x28..]));
        }
        return sections;
    }

    private static string String(byte[] image, long at)
    {
        ReadOnlySpan<byte> rest = image.AsSpan((int)at);
        return Encoding.ASCII.GetString(rest[..rest.IndexOf((byte)0)]);
    }
}
