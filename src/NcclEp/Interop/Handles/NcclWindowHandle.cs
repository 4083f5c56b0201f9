using System;
using Microsoft.Win32.SafeHandles;

namespace NcclEp.Interop;

/// <summary>
/// A registered window (ncclCommWindowRegister / ncclCommWindowDeregister). It holds its communicator (which
/// deregistration needs) and, when registered on an <see cref="NcclMemHandle"/>, that memory too, so neither
/// is freed first. Deregistration is local (no barrier): make sure peers are done with it before disposing.
/// </summary>
internal sealed class NcclWindowHandle : SafeHandleZeroOrMinusOneIsInvalid
{
    private readonly HeldReference _comm;
    private readonly HeldReference? _memory;

    private NcclWindowHandle(NcclCommHandle comm, NcclMemHandle? memory, nint localPointer, nuint bytes)
        : base(ownsHandle: true)
    {
        ArgumentNullException.ThrowIfNull(comm);
        _comm = new HeldReference(comm);
        _memory = memory is null ? null : new HeldReference(memory);
        LocalPointer = localPointer;
        Bytes = bytes;
    }

    /// <summary>The raw ncclWindow_t (a device pointer to NCCL's ncclWindow_vidmem in 2.28).</summary>
    public nint Value => handle;

    /// <summary>The communicator it is registered on.</summary>
    public NcclCommHandle Comm => (NcclCommHandle)_comm.Target;

    /// <summary>This rank's address of the window's first byte, as registered.</summary>
    public nint LocalPointer { get; }

    /// <summary>The window's size.</summary>
    public nuint Bytes { get; }

    /// <summary>
    /// Registers <paramref name="bytes"/> of <paramref name="memory"/> starting at <paramref name="offset"/>
    /// (a multiple of 4096). Collective: every rank of the communicator registers, in the same order and with
    /// the same size and offset.
    /// </summary>
    public static NcclWindowHandle Register(
        NcclCommHandle comm, NcclMemHandle memory, nuint offset, nuint bytes, NcclWindowFlags flags = NcclWindowFlags.Default)
    {
        ArgumentNullException.ThrowIfNull(memory);
        if (offset % 4096 != 0)
        {
            throw new ArgumentException($"A window must start 4096-byte aligned within its allocation (NCCL_WIN_REQUIRED_ALIGNMENT); offset is {offset}.", nameof(offset));
        }

        if (bytes == 0 || offset > memory.Bytes || bytes > memory.Bytes - offset)
        {
            throw new ArgumentOutOfRangeException(nameof(bytes), bytes, $"The window [{offset}, {offset + bytes}) must be non-empty and lie within the {memory.Bytes}-byte allocation.");
        }

        return RegisterCore(comm, memory, memory.Pointer + (nint)offset, bytes, flags);
    }

    /// <summary>Registers cuMem-backed memory that this handle does not own (the caller keeps it alive longer).</summary>
    public static NcclWindowHandle Register(NcclCommHandle comm, nint pointer, nuint bytes, NcclWindowFlags flags = NcclWindowFlags.Default)
    {
        if (pointer == 0 || bytes == 0)
        {
            throw new ArgumentException("A window needs a non-null pointer and a non-zero size.", nameof(pointer));
        }

        return RegisterCore(comm, null, pointer, bytes, flags);
    }

    protected override bool ReleaseHandle()
    {
        // An aborted communicator has already freed its windows; touching them would be a use after free.
        bool ok = Comm.IsAborted
            || NativeRelease.Accept(Nccl.ncclCommWindowDeregister(Comm.Value, handle), "ncclCommWindowDeregister");
        _memory?.Release();
        _comm.Release();
        return ok;
    }

    protected override void Dispose(bool disposing)
    {
        // A registration that failed never reaches ReleaseHandle; give the references back here.
        bool neverCreated = IsInvalid;
        base.Dispose(disposing);
        if (neverCreated)
        {
            _memory?.Release();
            _comm?.Release();
        }
    }

    private static NcclWindowHandle RegisterCore(NcclCommHandle comm, NcclMemHandle? memory, nint pointer, nuint bytes, NcclWindowFlags flags)
    {
        var window = new NcclWindowHandle(comm, memory, pointer, bytes);
        try
        {
            Check.Nccl(Nccl.ncclCommWindowRegister(comm.Value, pointer, bytes, out nint value, flags), "ncclCommWindowRegister", comm.Value);
            if (value == 0)
            {
                throw new InvalidOperationException(
                    "ncclCommWindowRegister succeeded but returned no window: the communicator has no symmetric-memory " +
                    "support and local registration is off (NCCL_LOCAL_REGISTER=0). See docs/nccl-lsa.md.");
            }

            window.SetHandle(value);
            return window;
        }
        catch
        {
            window.Dispose();
            throw;
        }
    }
}
