namespace NcclEp.Interop;

/// <summary>
/// Makes a context current for a block and puts the previous one back on dispose, so that creating or
/// freeing a resource never leaves the calling thread bound to another device's context.
/// </summary>
internal ref struct CudaContextScope
{
    private readonly nint _previous;
    private readonly bool _switched;

    private CudaContextScope(nint previous, bool switched)
    {
        _previous = previous;
        _switched = switched;
    }

    /// <summary>Makes <paramref name="context"/> current; throws <see cref="CudaException"/> if it cannot.</summary>
    public static CudaContextScope Enter(nint context)
    {
        Check.Cu(CudaDriver.cuCtxGetCurrent(out nint previous), "cuCtxGetCurrent");
        if (previous == context)
        {
            return new CudaContextScope(previous, switched: false);
        }

        Check.Cu(CudaDriver.cuCtxSetCurrent(context), "cuCtxSetCurrent");
        return new CudaContextScope(previous, switched: true);
    }

    /// <summary>Like <see cref="Enter"/> but never throws (for ReleaseHandle); the status says whether it worked.</summary>
    public static CudaContextScope TryEnter(nint context, out CuResult status)
    {
        status = CudaDriver.cuCtxGetCurrent(out nint previous);
        if (status != CuResult.Success || previous == context)
        {
            return new CudaContextScope(previous, switched: false);
        }

        status = CudaDriver.cuCtxSetCurrent(context);
        return new CudaContextScope(previous, switched: status == CuResult.Success);
    }

    /// <summary>Restores the context that was current before.</summary>
    public readonly void Dispose()
    {
        if (_switched)
        {
            _ = CudaDriver.cuCtxSetCurrent(_previous);
        }
    }
}
