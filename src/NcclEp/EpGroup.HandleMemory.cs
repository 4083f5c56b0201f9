using System;
using NcclEp.Backend;
using NcclEp.Cuda;
using NcclEp.Host;

namespace NcclEp;

/// <summary>Handles in memory the caller owns: the size and alignment a handle needs, and creation in that memory.</summary>
public sealed partial class EpGroup
{
    /// <summary>
    /// Bytes of device memory one handle of this group needs (its routing state: the send and receive metadata of one
    /// batch). A function of <see cref="Config"/> and <see cref="WorldSize"/> only: every rank of a group gives the same.
    /// </summary>
    public long HandleBytes => new HandleLayout(Config, WorldSize).TotalBytes;

    /// <summary>Alignment in bytes that the memory of a handle must have (every region of the state starts on a 128-byte line).</summary>
    public const int HandleAlignment = HandleLayout.Alignment;

    /// <summary>As <see cref="CreateHandle(EpBuffer, long)"/> at the start of <paramref name="memory"/>.</summary>
    /// <param name="memory">A buffer of this rank's backend and device, at least <see cref="HandleBytes"/> long.</param>
    /// <returns>The handle; <see cref="EpHandle.OwnsMemory"/> is false.</returns>
    public EpHandle CreateHandle(EpBuffer memory) => CreateHandle(memory, 0);

    /// <summary>
    /// Creates a handle whose state lies in the caller's <paramref name="memory"/> at <paramref name="byteOffset"/> (control
    /// path). Creation allocates nothing: it checks the memory and zeroes the <see cref="HandleBytes"/> bytes it uses.
    /// </summary>
    /// <remarks>
    /// The caller owns the memory and it must outlive the handle: dispose the handle first (disposing it leaves the
    /// memory alone), and keep the handle's bytes for its own use (nothing else may write them while it lives). A call on
    /// the handle after <paramref name="memory"/> was disposed is refused with <see cref="ObjectDisposedException"/>.
    /// Several handles may share one buffer at distinct offsets, each <see cref="HandleBytes"/> long and aligned.
    /// </remarks>
    /// <param name="memory">A buffer of this rank's backend and device (e.g. from <see cref="AllocateBuffer"/>).</param>
    /// <param name="byteOffset">Where the handle's state starts; <c>memory.Pointer + byteOffset</c> must be a multiple of <see cref="HandleAlignment"/>.</param>
    /// <returns>The handle; <see cref="EpHandle.OwnsMemory"/> is false.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="memory"/> is null.</exception>
    /// <exception cref="ArgumentException"><paramref name="memory"/> is too small from <paramref name="byteOffset"/>, misaligned
    /// there, of another backend, or (Cuda) not device memory of this rank's GPU; the message says which.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="byteOffset"/> is negative.</exception>
    /// <exception cref="ObjectDisposedException"><paramref name="memory"/> or the group is disposed.</exception>
    /// <exception cref="InvalidOperationException">Called inside a captured step.</exception>
    public EpHandle CreateHandle(EpBuffer memory, long byteOffset)
    {
        if (memory is null) ThrowHelper.NullArgument(nameof(memory));
        ThrowIfCreatingHandleInCapture();
        if (memory.IsDisposed) ThrowHelper.Disposed(nameof(EpBuffer));
        if (byteOffset < 0) ThrowHelper.OutOfRange(nameof(byteOffset), byteOffset, "must not be negative");
        long needed = HandleBytes;
        if (memory.Bytes - byteOffset < needed)
        {
            ThrowHelper.Argument(nameof(memory),
                $"A handle of this group needs {needed} bytes (EpGroup.HandleBytes); the buffer holds {memory.Bytes}, {Math.Max(0, memory.Bytes - byteOffset)} of them from byte offset {byteOffset}.");
        }
        if (Backend == EpBackendKind.Host && memory is not HostBuffer)
            ThrowHelper.Argument(nameof(memory), $"The buffer is {memory.GetType().Name} memory, not memory of the Host backend this group runs on.");
        nint pointer = memory.Pointer + (nint)byteOffset;
        if (pointer % HandleLayout.Alignment != 0)
        {
            ThrowHelper.Argument(byteOffset == 0 ? nameof(memory) : nameof(byteOffset),
                $"The handle would start at 0x{pointer:X} (buffer 0x{memory.Pointer:X} + byte offset {byteOffset}), which is not a multiple of {HandleLayout.Alignment} (EpGroup.HandleAlignment).");
        }
        return new EpHandle(this, Borrow(pointer, needed, nameof(memory)), ownsState: false, callerBuffer: memory);
    }

    /// <summary>
    /// Creates a handle whose state lies in caller-owned device memory at <paramref name="memory"/> (any allocator: a
    /// framework's caching allocator, a graph's memory pool; native memory on the Host backend). Control path; creation
    /// allocates nothing: it checks the memory and zeroes the <see cref="HandleBytes"/> bytes it uses.
    /// </summary>
    /// <remarks>
    /// The caller owns the memory and it must outlive the handle (disposing the handle leaves it alone); nothing else may
    /// write the handle's bytes while it lives. The library cannot tell when raw memory is freed: free it only after
    /// the handle is disposed and the device work that used it has completed.
    /// </remarks>
    /// <param name="memory">Device address of the state, a multiple of <see cref="HandleAlignment"/>. Cuda: device memory
    /// (not pinned host or managed memory) of this rank's GPU; checked with the driver.</param>
    /// <param name="bytes">Bytes the caller gives from <paramref name="memory"/>: at least <see cref="HandleBytes"/>
    /// (Cuda: and inside one allocation, checked).</param>
    /// <returns>The handle; <see cref="EpHandle.OwnsMemory"/> is false.</returns>
    /// <exception cref="ArgumentException"><paramref name="memory"/> is null, misaligned, or (Cuda) not device memory of
    /// this rank's GPU, or its allocation ends before <see cref="HandleBytes"/>.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="bytes"/> is smaller than <see cref="HandleBytes"/>.</exception>
    /// <exception cref="InvalidOperationException">Called inside a captured step.</exception>
    public EpHandle CreateHandle(nint memory, long bytes)
    {
        ThrowIfCreatingHandleInCapture();
        if (memory == 0) ThrowHelper.Argument(nameof(memory), "The handle's memory is a null pointer.");
        long needed = HandleBytes;
        if (bytes < needed)
            ThrowHelper.OutOfRange(nameof(bytes), bytes, $"is smaller than the {needed} bytes a handle of this group needs (EpGroup.HandleBytes)");
        if (memory % HandleLayout.Alignment != 0)
            ThrowHelper.Argument(nameof(memory), $"0x{memory:X} is not a multiple of {HandleLayout.Alignment} (EpGroup.HandleAlignment).");
        return new EpHandle(this, Borrow(memory, needed, nameof(memory)), ownsState: false, callerBuffer: null);
    }

    /// <summary>A non-owning view of the caller's memory for a handle's state; Cuda checks it with the driver.</summary>
    private EpBuffer Borrow(nint pointer, long bytes, string paramName) =>
        _backend is CudaRankBackend cuda ? CudaBuffer.Borrow(cuda.Device, pointer, bytes, paramName) : HostBuffer.Borrow(pointer, bytes);

    private void ThrowIfCreatingHandleInCapture()
    {
        if (_disposed) ThrowHelper.Disposed(nameof(EpGroup));
        if (_captureSink is not null || EpCaptureGuard.IsCapturing)
        {
            ThrowHelper.InvalidOperation(
                "EpGroup.CreateHandle inside a captured step (EpGraph.Capture): creating a handle zeroes its memory on the control path, which a graph cannot hold; create handles before capturing.");
        }
    }
}
