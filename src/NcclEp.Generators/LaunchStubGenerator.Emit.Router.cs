using System.Collections.Generic;
using NcclEp.Generators.Helpers;
using NcclEp.Generators.Models;

namespace NcclEp.Generators;

public sealed partial class LaunchStubGenerator
{
    /// <summary>The router's entry points; the FP8 ones (<c>Quantized</c>) go only to the stubs that have them.</summary>
    private static readonly (string Name, string Parameters, string Arguments, string Doc, bool Quantized)[] s_operations =
    {
        ("Update", "EpGroup group, EpHandle handle, in EpTensor topkIds, in EpTensor topkWeights, EpStream stream",
            "group, handle, in topkIds, in topkWeights, stream", "<see cref=\"EpHandle.Update\"/>", false),
        ("Dispatch", "EpGroup group, EpHandle handle, in EpTensor tokens, in EpTensor received, EpStream stream, EpPass pass",
            "group, handle, in tokens, in received, stream, pass", "<see cref=\"EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, EpStream, EpPass)\"/>", false),
        ("DispatchRouted", "EpGroup group, EpHandle handle, in EpTensor topkIds, in EpTensor topkWeights, in EpTensor tokens, in EpTensor received, EpStream stream",
            "group, handle, in topkIds, in topkWeights, in tokens, in received, stream",
            "<see cref=\"EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, in EpTensor, in EpTensor, EpStream)\"/>", false),
        ("Combine", "EpGroup group, EpHandle handle, in EpTensor expertOutputs, in EpTensor combined, EpStream stream, EpPass pass",
            "group, handle, in expertOutputs, in combined, stream, pass", "<see cref=\"EpGroup.Combine\"/>", false),
        ("DispatchQuantized", "EpGroup group, EpHandle handle, in EpTensor tokens, in EpTensor received, in EpTensor receivedScales, EpStream stream",
            "group, handle, in tokens, in received, in receivedScales, stream",
            "The FP8 <see cref=\"EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, in EpTensor, EpStream)\"/>", true),
        ("DispatchQuantizedRouted",
            "EpGroup group, EpHandle handle, in EpTensor topkIds, in EpTensor topkWeights, in EpTensor tokens, in EpTensor received, in EpTensor receivedScales, EpStream stream",
            "group, handle, in topkIds, in topkWeights, in tokens, in received, in receivedScales, stream",
            "The FP8 <see cref=\"EpGroup.Dispatch(EpHandle, in EpTensor, in EpTensor, in EpTensor, in EpTensor, in EpTensor, EpStream)\"/>", true),
    };

    /// <summary>Writes the entry points, each a switch on the group's (mode, layout) to its stub.</summary>
    internal static string EmitRouter(EquatableArray<LaunchStubModel> models)
    {
        var w = new CodeWriter();
        LaunchStubModel first = models[0];
        WriteHeader(w, first.Namespace);
        w.Line("partial class {0}", first.Container);
        using (w.Open())
        {
            for (int op = 0; op < s_operations.Length; op++)
            {
                (string name, string parameters, string arguments, string doc, bool quantized) = s_operations[op];
                if (quantized && !AnyQuantizedDispatch(models)) continue;
                if (op != 0) w.Line();
                w.Doc($"<summary>{doc}: runs the stub of the group's (mode, layout).</summary>");
                w.Line("public static void {0}({1})", name, parameters);
                using (w.Open())
                {
                    w.Line("switch (group.Shapes.Mode, group.Shapes.Layout)");
                    using (w.Open())
                    {
                        foreach (LaunchStubModel m in models)
                        {
                            if (m.Container != first.Container || m.Namespace != first.Namespace) continue;
                            if (quantized && !m.HasQuantizedDispatch) continue;
                            w.Line("case (EpMode.{0}, EpLayout.{1}):", m.ModeName, m.LayoutName);
                            using (w.Indent())
                            {
                                w.Line("{0}.{1}({2});", m.ClassName, name, arguments);
                                w.Line("return;");
                            }
                        }
                        w.Line("default:");
                        using (w.Indent())
                        {
                            w.Line("ThrowNoStub(group.Shapes.Mode, group.Shapes.Layout);");
                            w.Line("return;");
                        }
                    }
                }
            }
        }
        return w.ToString();
    }

    private static bool AnyQuantizedDispatch(EquatableArray<LaunchStubModel> models)
    {
        foreach (LaunchStubModel m in models)
        {
            if (m.HasQuantizedDispatch) return true;
        }
        return false;
    }

    /// <summary>Writes <c>EpKernelTable</c>: for each (mode, layout) with stubs, the kernels they launch.</summary>
    internal static string EmitKernelTable(EquatableArray<LaunchStubModel> models)
    {
        var w = new CodeWriter();
        LaunchStubModel first = models[0];
        WriteHeader(w, first.Namespace);
        w.Doc("<summary>");
        w.Doc("The kernel specializations the Cuda backend compiles: for each valid (mode, layout), the kernels its");
        w.Doc("launch stubs run (the entry points come from the stubs' declarations, so the two cannot diverge).");
        w.Doc("Hidden, top-k, element type and quantization recipe are added by the backend from the group's configuration;");
        w.Doc("the FP8 dispatch kernel exists only in modules built for an FP8 recipe.");
        w.Doc("</summary>");
        w.Line("internal static partial class EpKernelTable");
        using (w.Open())
        {
            var fields = new List<string>();
            foreach (LaunchStubModel m in models)
            {
                string field = "s_" + char.ToLowerInvariant(m.ModeName[0]) + m.ModeName.Substring(1) + m.LayoutName;
                fields.Add(field);
                string stubs = m.Container + "." + m.ClassName;
                w.Line("private static readonly EpKernelSpec[] {0} =", field);
                using (w.Open(";"))
                {
                    w.Line("new(EpOperation.Update, {0}.UpdateKernel, {0}.Defines),", stubs);
                    w.Line("new(EpOperation.Dispatch, {0}.DispatchKernel, {0}.Defines),", stubs);
                    w.Line("new(EpOperation.Combine, {0}.CombineKernel, {0}.Defines),", stubs);
                    if (m.HasQuantizedDispatch) w.Line("new(EpOperation.QuantizedDispatch, {0}.QuantizedDispatchKernel, {0}.Defines),", stubs);
                }
                w.Line();
            }
            w.Doc("<summary>Every (mode, layout) that has launch stubs, in (mode, layout) order.</summary>");
            w.Line("public static ReadOnlySpan<(EpMode Mode, EpLayout Layout)> Specializations => s_specializations;");
            w.Line();
            w.Line("private static readonly (EpMode Mode, EpLayout Layout)[] s_specializations =");
            using (w.Open(";"))
            {
                foreach (LaunchStubModel m in models) w.Line("(EpMode.{0}, EpLayout.{1}),", m.ModeName, m.LayoutName);
            }
            w.Line();
            w.Doc("<summary>The kernels of (<paramref name=\"mode\"/>, <paramref name=\"layout\"/>); empty where there are none.</summary>");
            w.Line("public static ReadOnlySpan<EpKernelSpec> For(EpMode mode, EpLayout layout)");
            using (w.Open())
            {
                w.Line("switch (mode, layout)");
                using (w.Open())
                {
                    for (int i = 0; i < models.Length; i++)
                    {
                        w.Line("case (EpMode.{0}, EpLayout.{1}):", models[i].ModeName, models[i].LayoutName);
                        using (w.Indent()) w.Line("return {0};", fields[i]);
                    }
                    w.Line("default:");
                    using (w.Indent()) w.Line("return ReadOnlySpan<EpKernelSpec>.Empty;");
                }
            }
        }
        return w.ToString();
    }
}
