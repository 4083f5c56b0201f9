using System;
using CommunityToolkit.HighPerformance;
using NcclEp.Backend;

namespace NcclEp;

/// <summary>
/// Reading device results on the host: any <see cref="EpTensor"/> of this rank (its handles' counts, offsets and
/// source info, the rows in its buffers) into managed memory, in the tensor's row-major order, strides honoured.
/// Control path: each call waits for <c>stream</c>, copies synchronously, and the array forms allocate; never call
/// them between data-path calls that must stay free of host synchronisation, nor inside a captured step.
/// </summary>
public sealed partial class EpGroup
{
    /// <summary>
    /// Control path: waits for <paramref name="stream"/>, then copies <paramref name="tensor"/> into a new array, row-major.
    /// <typeparamref name="T"/> is the element's type (<c>int</c> or <c>uint</c> for Int32, <c>float</c> for Float32,
    /// <see cref="BFloat16"/> or <c>ushort</c> for BFloat16), or a struct of one whole last-dimension row, e.g.
    /// <see cref="EpSourceInfo"/> for <see cref="EpHandle.ReceivedSourceInfo"/> (then one item per row).
    /// </summary>
    /// <example><c>int[] counts = group.DownloadToArray&lt;int&gt;(handle.ReceivedExpertCounts);</c></example>
    /// <param name="tensor">A tensor in this rank's memory: one of its <see cref="EpHandle"/>'s or over its <see cref="EpBuffer"/>s.</param>
    /// <param name="stream">The stream whose work must be done first (Cuda; ignored on Host).</param>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> does not match the tensor's element type, or the tensor has a null pointer.</exception>
    /// <exception cref="InvalidOperationException">Called inside a captured step.</exception>
    public T[] DownloadToArray<T>(in EpTensor tensor, EpStream stream = default) where T : unmanaged
    {
        EpCaptureGuard.ThrowIfCapturing("EpGroup.DownloadToArray");
        TensorItems items = TensorItems.Of<T>(tensor, nameof(tensor));
        var array = new T[items.Count];
        Download(tensor, array.AsSpan(), stream);
        return array;
    }

    /// <summary>
    /// Control path: as <see cref="DownloadToArray{T}"/>, as a 2-D view over the new array: rows × the last dimension
    /// (a 3-D tensor's first two dimensions become the rows: an expert-major dispatch output gives one row per
    /// (local expert, slot)); a 1-D tensor is one row. Index it as <c>view.Span[row, column]</c> or take
    /// <c>view.Span.GetRowSpan(row)</c>.
    /// </summary>
    /// <param name="tensor">A tensor in this rank's memory.</param>
    /// <param name="stream">The stream whose work must be done first (Cuda; ignored on Host).</param>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> does not match the tensor's element type, or the tensor has a null pointer.</exception>
    /// <exception cref="InvalidOperationException">Called inside a captured step.</exception>
    public Memory2D<T> Download2D<T>(in EpTensor tensor, EpStream stream = default) where T : unmanaged
    {
        EpCaptureGuard.ThrowIfCapturing("EpGroup.Download2D");
        TensorItems items = TensorItems.Of<T>(tensor, nameof(tensor));
        var array = new T[items.Count];
        Download(tensor, array.AsSpan(), stream);
        return new Memory2D<T>(array, items.Rows, items.Columns);
    }

    /// <summary>
    /// Control path: waits for <paramref name="stream"/>, then copies <paramref name="tensor"/> into
    /// <paramref name="destination"/> (row-major; the first items when it is longer). Allocates nothing itself.
    /// </summary>
    /// <param name="tensor">A tensor in this rank's memory.</param>
    /// <param name="destination">At least as many items as the tensor holds (see <see cref="DownloadToArray{T}"/> for <typeparamref name="T"/>).</param>
    /// <param name="stream">The stream whose work must be done first (Cuda; ignored on Host).</param>
    /// <exception cref="ArgumentException"><typeparamref name="T"/> does not match, the destination is too short, or the tensor has a null pointer.</exception>
    /// <exception cref="InvalidOperationException">Called inside a captured step.</exception>
    public void DownloadTo<T>(in EpTensor tensor, Span<T> destination, EpStream stream = default) where T : unmanaged
    {
        EpCaptureGuard.ThrowIfCapturing("EpGroup.DownloadTo");
        TensorItems items = TensorItems.Of<T>(tensor, nameof(tensor));
        if (destination.Length < items.Count)
            ThrowHelper.Argument(nameof(destination), $"The destination holds {destination.Length} items; the tensor {tensor} has {items.Count}.");
        Download(tensor, destination, stream);
    }

    private void Download<T>(in EpTensor tensor, Span<T> destination, EpStream stream) where T : unmanaged
    {
        IEpRankBackend backend = RankBackend;
        backend.Synchronize(stream);
        TensorDownload.Copy(backend, tensor, destination);
    }
}
