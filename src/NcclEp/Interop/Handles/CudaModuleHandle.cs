using System;

namespace NcclEp.Interop;

/// <summary>A loaded module (cuModuleLoadData / cuModuleUnload). Its functions and globals live as long as it does.</summary>
internal sealed unsafe class CudaModuleHandle : CudaContextBoundHandle
{
    private CudaModuleHandle(CudaPrimaryContext context)
        : base(context)
    {
    }

    protected override string DestroyCall => "cuModuleUnload";

    /// <summary>Loads a CUBIN/fatbin (or NUL-terminated PTX) image into <paramref name="context"/>.</summary>
    public static CudaModuleHandle Load(CudaPrimaryContext context, ReadOnlySpan<byte> image)
    {
        if (image.IsEmpty)
        {
            throw new ArgumentException("The module image is empty.", nameof(image));
        }

        var module = new CudaModuleHandle(context);
        try
        {
            using (context.MakeCurrent())
            fixed (byte* p = image)
            {
                module.SetCreated(CudaDriver.cuModuleLoadData(out nint value, p), value, "cuModuleLoadData");
            }

            return module;
        }
        catch
        {
            module.Dispose();
            throw;
        }
    }

    /// <summary>A kernel by its (mangled or extern "C") name.</summary>
    public nint GetFunction(string name)
    {
        CuResult status = CudaDriver.cuModuleGetFunction(out nint function, handle, name);
        if (status != CuResult.Success)
        {
            throw new CudaException("cuModuleGetFunction", status, $"Kernel '{name}' is not in the module.");
        }

        return function;
    }

    /// <summary>A __device__ global's address and size.</summary>
    public nint GetGlobal(string name, out nuint bytes)
    {
        CuResult status = CudaDriver.cuModuleGetGlobal_v2(out nint pointer, out bytes, handle, name);
        if (status != CuResult.Success)
        {
            throw new CudaException("cuModuleGetGlobal_v2", status, $"Global '{name}' is not in the module.");
        }

        return pointer;
    }

    protected override CuResult Destroy(nint value) => CudaDriver.cuModuleUnload(value);
}
