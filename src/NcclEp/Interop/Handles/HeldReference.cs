using System.Runtime.InteropServices;
using System.Threading;

namespace NcclEp.Interop;

/// <summary>
/// A reference one SafeHandle holds on another (DangerousAddRef) so that the other outlives it: a graph keeps
/// its context alive. Released exactly once.
/// </summary>
internal sealed class HeldReference
{
    private int _held;

    /// <summary>Adds a reference; throws ObjectDisposedException when <paramref name="target"/> is already closed.</summary>
    public HeldReference(SafeHandle target)
    {
        bool added = false;
        target.DangerousAddRef(ref added);
        Target = target;
        _held = added ? 1 : 0;
    }

    /// <summary>The handle that is kept alive.</summary>
    public SafeHandle Target { get; }

    /// <summary>Gives the reference back (once; later calls do nothing).</summary>
    public void Release()
    {
        if (Interlocked.Exchange(ref _held, 0) == 1)
        {
            Target.DangerousRelease();
        }
    }
}
