using System;
using System.Collections;
using System.Collections.Generic;
using System.Collections.Immutable;
using System.Linq;
using System.Reflection;
using System.Runtime.CompilerServices;
using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using NcclEp.Generators.Models;

namespace NcclEp.Generators.Tests;

/// <summary>The generators cache their work and keep no compiler objects alive.</summary>
public class IncrementalityTests
{
    private static readonly string[] s_trackedSteps =
    {
        TrackingNames.TokenViews, TrackingNames.MetadataViews, TrackingNames.LaunchStubs, TrackingNames.AllLaunchStubs,
    };

    private static readonly Type[] s_forbidden =
    {
        typeof(ISymbol), typeof(SyntaxNode), typeof(Compilation), typeof(SemanticModel), typeof(SyntaxTree),
        typeof(Location), typeof(AttributeData), typeof(SyntaxReference),
    };

    [Fact]
    public void Unrelated_edit_leaves_every_tracked_step_cached_or_unchanged()
    {
        CSharpCompilation first = GeneratorHarness.Library();
        GeneratorDriver driver = GeneratorHarness.Driver().RunGenerators(first);
        GeneratorDriverRunResult before = driver.GetRunResult();

        SyntaxTree config = first.SyntaxTrees.Single(t => t.FilePath == "EpConfig.cs");
        SyntaxTree edited = config.WithChangedText(config.GetText().Replace(0, 0, "// an unrelated comment\n"));
        CSharpCompilation second = first
            .ReplaceSyntaxTree(config, edited)
            .AddSyntaxTrees(CSharpSyntaxTree.ParseText("namespace NcclEp; internal static class Unrelated { public static int X => 1; }", GeneratorHarness.ParseOptions));

        driver = driver.RunGenerators(second);
        GeneratorDriverRunResult after = driver.GetRunResult();

        int checkedOutputs = 0;
        foreach (GeneratorRunResult result in after.Results)
        {
            foreach (string name in s_trackedSteps)
            {
                if (!result.TrackedSteps.TryGetValue(name, out ImmutableArray<IncrementalGeneratorRunStep> steps)) continue;
                foreach (IncrementalGeneratorRunStep step in steps)
                {
                    foreach ((object _, IncrementalStepRunReason reason) in step.Outputs)
                    {
                        Assert.True(reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged, $"{name}: {reason}");
                        checkedOutputs++;
                    }
                }
            }
        }
        Assert.True(checkedOutputs >= 16, $"only {checkedOutputs} tracked outputs"); // 3 token views + 8 metadata views + 4 stubs + all
        Assert.Equal(Sources(before), Sources(after));
    }

    [Fact]
    public void Editing_a_declaration_regenerates_only_that_declaration()
    {
        CSharpCompilation first = GeneratorHarness.Library();
        GeneratorDriver driver = GeneratorHarness.Driver().RunGenerators(first);

        SyntaxTree counts = first.SyntaxTrees.Single(t => t.FilePath == "Views/Counts.cs");
        string text = counts.GetText().ToString().Replace("\"Length:index\"", "\"Size:index\"", StringComparison.Ordinal);
        driver = driver.RunGenerators(first.ReplaceSyntaxTree(counts, counts.WithChangedText(Microsoft.CodeAnalysis.Text.SourceText.From(text))));

        GeneratorRunResult views = driver.GetRunResult().Results.Single(r => r.Generator.GetGeneratorType() == typeof(ViewGenerator));
        var reasons = views.TrackedSteps[TrackingNames.MetadataViews].SelectMany(s => s.Outputs).Select(o => o.Reason).ToList();
        Assert.Equal(1, reasons.Count(r => r == IncrementalStepRunReason.Modified));
        Assert.Equal(7, reasons.Count(r => r is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged));  // the other metadata views
        Assert.All(views.TrackedSteps[TrackingNames.TokenViews].SelectMany(s => s.Outputs),
            o => Assert.True(o.Reason is IncrementalStepRunReason.Cached or IncrementalStepRunReason.Unchanged));
        Assert.Contains("public int Size => _length0;", views.GeneratedSources.Single(s => s.HintName == "NcclEp.Views.Counts.g.cs").SourceText.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void Model_types_hold_no_symbol_syntax_or_compilation()
    {
        Type[] models = typeof(ViewModel).Assembly.GetTypes()
            .Where(t => t.Namespace == typeof(ViewModel).Namespace)
            .ToArray();
        Assert.Contains(typeof(ViewModel), models);
        Assert.Contains(typeof(LaunchStubModel), models);
        var seen = new HashSet<Type>();
        foreach (Type model in models) WalkType(model, model.Name, seen);
    }

    [Fact]
    public void Pipeline_outputs_hold_no_symbol_syntax_or_compilation()
    {
        GeneratorDriver driver = GeneratorHarness.Driver().RunGenerators(GeneratorHarness.Library());
        int values = 0;
        foreach (GeneratorRunResult result in driver.GetRunResult().Results)
        {
            foreach (string name in s_trackedSteps)
            {
                if (!result.TrackedSteps.TryGetValue(name, out ImmutableArray<IncrementalGeneratorRunStep> steps)) continue;
                foreach ((object value, _) in steps.SelectMany(s => s.Outputs))
                {
                    WalkValue(value, name, new HashSet<object>(ReferenceEqualityComparer.Instance));
                    values++;
                }
            }
        }
        Assert.True(values >= 12);
    }

    /// <remarks>
    /// With Roslyn 4.14 a compilation that went through any incremental generator (even one whose pipeline holds
    /// only strings) stays alive after the driver itself is dropped: something process-wide in the compiler keeps
    /// it, outside every static field of the CodeAnalysis assemblies. So the weak reference is used to reach the
    /// old compilation without rooting it, and the test proves what our generators control: nothing in the new
    /// driver's state (pipeline tables, tracked steps, models, outputs) reaches the old compilation.
    /// </remarks>
    [Fact]
    public void A_new_run_keeps_no_old_compilation_reachable_from_the_driver()
    {
        GeneratorDriver driver = GeneratorHarness.Driver();
        (driver, WeakReference old) = RunOnFreshCompilation(driver, "// first\n");
        (driver, WeakReference current) = RunOnFreshCompilation(driver, "// second\n");
        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        // The walk does see the pipeline state: the current run's models are reachable from the driver.
        object model = driver.GetRunResult().Results.SelectMany(r => r.TrackedSteps[TrackingNames.TokenViews]).First().Outputs[0].Value;
        Assert.True(Reaches(driver, model, out _), "the walk does not reach the driver's own models");

        if (old.Target is Compilation first)
        {
            Assert.False(Reaches(driver, first, out int visited), "the driver's state still reaches the first compilation");
            Assert.True(visited > 1000, $"the walk saw only {visited} objects");
        }
        GC.KeepAlive(current);
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static (GeneratorDriver, WeakReference) RunOnFreshCompilation(GeneratorDriver driver, string extra)
    {
        List<SyntaxTree> trees = GeneratorHarness.LibraryTrees(withDeclarations: true);
        trees.Add(CSharpSyntaxTree.ParseText(extra, GeneratorHarness.ParseOptions, path: "Extra.cs"));
        Compilation compilation = GeneratorHarness.Create(trees, "NcclEp");
        driver = driver.RunGenerators(compilation);
        Assert.NotEmpty(driver.GetRunResult().GeneratedTrees);
        return (driver, new WeakReference(compilation));
    }

    /// <summary>Whether <paramref name="target"/> is reachable from <paramref name="root"/> through instance fields.</summary>
    private static bool Reaches(object root, object target, out int visited)
    {
        var seen = new HashSet<object>(ReferenceEqualityComparer.Instance) { root };
        var queue = new Queue<object>();
        queue.Enqueue(root);
        visited = 0;
        while (queue.Count > 0)
        {
            object o = queue.Dequeue();
            visited++;
            if (ReferenceEquals(o, target)) return true;
            Type type = o.GetType();
            if (o is string || type.IsPrimitive || type.IsPointer) continue;
            if (o is Array array)
            {
                if (type.GetElementType()!.IsPrimitive) continue;
                foreach (object? item in array) Visit(item);
                continue;
            }
            for (Type? t = type; t is not null; t = t.BaseType)
            {
                foreach (FieldInfo field in t.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
                {
                    if (field.FieldType.IsPrimitive || field.FieldType.IsPointer || field.FieldType.IsByRefLike) continue;
                    Visit(field.GetValue(o));
                }
            }
        }
        return false;

        void Visit(object? value)
        {
            if (value is null || value.GetType().IsPrimitive) return;
            if (value.GetType().IsValueType || seen.Add(value)) queue.Enqueue(value);
        }
    }

    private static Dictionary<string, string> Sources(GeneratorDriverRunResult run) =>
        run.Results.SelectMany(r => r.GeneratedSources).ToDictionary(s => s.HintName, s => s.SourceText.ToString(), StringComparer.Ordinal);

    private static void WalkType(Type type, string path, HashSet<Type> seen)
    {
        foreach (Type bad in s_forbidden)
            Assert.False(bad.IsAssignableFrom(type), $"{path} is a {bad.Name}");
        if (type.IsPrimitive || type == typeof(string) || type.IsEnum || !seen.Add(type)) return;
        if (type.IsArray)
        {
            WalkType(type.GetElementType()!, path + "[]", seen);
            return;
        }
        foreach (Type argument in type.IsGenericType ? type.GetGenericArguments() : Type.EmptyTypes)
            WalkType(argument, $"{path}<{argument.Name}>", seen);
        foreach (FieldInfo field in type.GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            WalkType(field.FieldType, path + "." + field.Name, seen);
    }

    private static void WalkValue(object? value, string path, HashSet<object> seen)
    {
        if (value is null || value is string || value.GetType().IsPrimitive || value.GetType().IsEnum) return;
        foreach (Type bad in s_forbidden)
            Assert.False(bad.IsInstanceOfType(value), $"{path} holds a {bad.Name}");
        if (!value.GetType().IsValueType && !seen.Add(value)) return;
        if (value is IEnumerable items)
        {
            foreach (object? item in items) WalkValue(item, path + "[]", seen);
        }
        foreach (FieldInfo field in value.GetType().GetFields(BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic))
            WalkValue(field.GetValue(value), path + "." + field.Name, seen);
    }
}
