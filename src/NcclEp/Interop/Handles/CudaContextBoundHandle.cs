using System;
using Microsoft.Win32.SafeHandles;

namespace NcclEp.Interop;

/// <summary>
/// Base of the handles that live in a CUDA context (a captured graph and its executable). It keeps the
/// context alive, makes it current around the destroy call (a finalizer thread has no current context) and
/// puts the caller's context back afterwards.
/// </summary>
internal abstract class CudaContextBoundHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private readonly HeldReference _context;

    protected CudaContextBoundHandle(CudaPrimaryContext context)
        : base(ownsHandle: true)
    {
        ArgumentNullException.ThrowIfNull(context);
        _context = new HeldReference(context);
    }

    /// <summary>The context this lives in.</summary>
    public CudaPrimaryContext Context => (CudaPrimaryContext)_context.Target;

    /// <summary>The raw driver handle, for calls on the data path; valid while this handle is open.</summary>
    public nint Value => handle;

    /// <summary>The exported name of the destroy call, for diagnostics.</summary>
    protected abstract string DestroyCall { get; }

    /// <summary>Checks a create call's status under the context and takes ownership of what it created.</summary>
    protected void SetCreated(CuResult status, nint value, string call)
    {
        Check.Cu(status, call);
        SetHandle(value);
    }

    /// <summary>Destroys the native object; the context is current when this runs.</summary>
    protected abstract CuResult Destroy(nint value);

    protected sealed override bool ReleaseHandle()
    {
        CuResult status;
        using (CudaContextScope.TryEnter(Context.Value, out status))
        {
            if (status == CuResult.Success)
            {
                status = Destroy(handle);
            }
        }

        _context.Release();
        return NativeRelease.Accept(status, DestroyCall);
    }

    protected override void Dispose(bool disposing)
    {
        // A handle whose create call failed never reaches ReleaseHandle; give the context back here.
        bool neverCreated = IsInvalid;
        base.Dispose(disposing);
        if (neverCreated)
        {
            _context?.Release();
        }
    }
}
