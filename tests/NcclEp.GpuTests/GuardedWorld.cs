using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Threading;
using NcclEp.Cuda;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>Groups and one <see cref="GuardedRank"/> per rank; disposes them all.</summary>
internal sealed class GuardedWorld : IDisposable
{
    public GuardedWorld(EpGroup[] groups)
    {
        Groups = groups;
        try
        {
            Ranks = groups.Select(g => new GuardedRank(g)).ToArray();
        }
        catch
        {
            foreach (EpGroup g in groups) g.Dispose();
            throw;
        }
    }

    public EpGroup[] Groups { get; }
    public GuardedRank[] Ranks { get; }

    public void Dispose()
    {
        foreach (GuardedRank r in Ranks) r.Dispose();
        foreach (EpGroup g in Groups) g.Dispose();
    }
}

/// <summary>
/// One rank's handle, inputs, expert outputs and outputs for MaxTokensPerRank tokens, its own stream on Cuda. Between
/// dispatch and combine (and between combine backward and dispatch backward) it runs the test experts
/// (<see cref="AffineExperts"/>: a kernel on Cuda, host code on the Host backend). Every output tensor of the library
/// sits <see cref="Guard"/> bytes into a buffer with <see cref="Guard"/> bytes after it; the whole buffer is filled with
/// <see cref="Pattern"/> before each round, and <see cref="Guards"/> checks that nothing outside the tensor (rows past
/// the tokens included) was written.
/// </summary>
internal sealed class GuardedRank : IDisposable
{
    public const int Guard = 4096;
    public const byte Pattern = 0xC3;
    private readonly EpGroup _g;
    private readonly EpConfig _c;
    private readonly int _world, _local;
    private readonly long _rowBytes, _layoutRows;
    private readonly EpBuffer _ids, _weights, _x, _grad, _received, _combined, _gradRows, _gradX, _expertOut, _expertGrad;
    private readonly GpuAffineExperts? _experts;
    private readonly nint _stream;
    private int _tokens;

    public GuardedRank(EpGroup g)
    {
        _g = g;
        _c = g.Config;
        _world = g.WorldSize;
        _local = g.LocalExperts;
        int m = _c.MaxTokensPerRank, k = _c.TopK;
        _rowBytes = _c.RowBytes;
        _layoutRows = _c.ReceiveRows(_world);
        Handle = g.CreateHandle();
        _ids = g.AllocateBuffer((long)m * k * 4);
        _weights = g.AllocateBuffer((long)m * k * 4);
        _x = g.AllocateBuffer(m * _rowBytes);
        _grad = g.AllocateBuffer(m * _rowBytes);
        _received = g.AllocateBuffer((2 * Guard) + (_layoutRows * _rowBytes));
        _gradRows = g.AllocateBuffer((2 * Guard) + (_layoutRows * _rowBytes));
        _combined = g.AllocateBuffer((2 * Guard) + (m * _rowBytes));
        _gradX = g.AllocateBuffer((2 * Guard) + (m * _rowBytes));
        _expertOut = g.AllocateBuffer(_layoutRows * _rowBytes);
        _expertGrad = g.AllocateBuffer(_layoutRows * _rowBytes);
        _experts = g.Backend == EpBackendKind.Cuda ? new GpuAffineExperts(g) : null;
        _stream = g.CreateStream().Handle;  // owned by the group
    }

    public EpHandle Handle { get; }

    public EpStream Stream => new(_stream);

    private EpTensor Ids => EpTensor.Create2D(_ids.Pointer, EpDataType.Int32, _tokens, _c.TopK);
    private EpTensor Weights => EpTensor.Create2D(_weights.Pointer, EpDataType.Float32, _tokens, _c.TopK);
    private EpTensor X => EpTensor.Create2D(_x.Pointer, _c.DataType, _tokens, _c.Hidden);
    private EpTensor Grad => EpTensor.Create2D(_grad.Pointer, _c.DataType, _tokens, _c.Hidden);
    private EpTensor Combined => EpTensor.Create2D(_combined.Pointer + Guard, _c.DataType, _tokens, _c.Hidden);
    private EpTensor GradX => EpTensor.Create2D(_gradX.Pointer + Guard, _c.DataType, _tokens, _c.Hidden);
    private EpTensor Received => LayoutTensor(_received.Pointer + Guard);
    private EpTensor GradRows => LayoutTensor(_gradRows.Pointer + Guard);
    private EpTensor ExpertOut => LayoutTensor(_expertOut.Pointer);
    private EpTensor ExpertGrad => LayoutTensor(_expertGrad.Pointer);

    private EpTensor LayoutTensor(nint data) => (_c.Mode, _c.Layout) switch
    {
        (EpMode.LowLatency, EpLayout.ExpertMajor) => EpTensor.Create3D(data, _c.DataType, _local, (long)_world * _c.MaxTokensPerRank, _c.Hidden),
        (_, EpLayout.RankMajor) => EpTensor.Create3D(data, _c.DataType, _world, _c.MaxTokensPerRank, _c.Hidden),
        _ => EpTensor.Create2D(data, _c.DataType, _layoutRows, _c.Hidden),
    };

    /// <summary>Uploads a round's inputs (and a gradient drawn from them) and fills every output buffer with the pattern.</summary>
    public void Load(RankBatch input)
    {
        _tokens = input.Tokens;
        if (_tokens > 0)
        {
            _ids.Upload<int>(input.Ids);
            _weights.Upload<float>(input.Weights);
            _x.Upload<byte>(input.X);
            _grad.Upload<byte>(input.Grad);
        }
        foreach (EpBuffer b in new[] { _received, _gradRows, _combined, _gradX, _expertOut, _expertGrad }) b.Fill(Pattern);
    }

    public void Update() => Handle.Update(Ids, Weights, Stream);

    public void Dispatch() => _g.Dispatch(Handle, X, Received, Stream);

    /// <summary>Update and Dispatch in one call (one launch up to 128 tokens on Cuda).</summary>
    public void RoutedDispatch() => _g.Dispatch(Handle, Ids, Weights, X, Received, Stream);

    /// <summary>The experts on the received rows, then Combine of their outputs.</summary>
    public void Combine()
    {
        new ExpertsWork(Handle, Received, ExpertOut, EpPass.Forward, _experts).Execute(Stream);
        _g.Combine(Handle, ExpertOut, Combined, Stream);
    }

    /// <summary>Combine backward of the output gradient into the gradient rows.</summary>
    public void CombineBackward() => _g.Combine(Handle, GradRows, Grad, Stream, EpPass.Backward);

    /// <summary>The experts' backward on the gradient rows, then Dispatch backward of theirs into the token gradient.</summary>
    public void DispatchBackward()
    {
        new ExpertsWork(Handle, GradRows, ExpertGrad, EpPass.Backward, _experts).Execute(Stream);
        _g.Dispatch(Handle, GradX, ExpertGrad, Stream, EpPass.Backward);
    }

    public void Backward()
    {
        CombineBackward();
        DispatchBackward();
    }

    public void Sync() => _g.Synchronize(Stream);

    /// <summary>Load, Update, forward, backward, Synchronize, Collect.</summary>
    public RankResult FullRoundTrip(RankBatch input)
    {
        Load(input);
        Update();
        Dispatch();
        Combine();
        Backward();
        Sync();
        return Collect();
    }

    /// <summary>Load, Update, Dispatch, Combine, Synchronize, and the forward outputs only.</summary>
    public RankResult ForwardRoundTrip(RankBatch input)
    {
        Load(input);
        Update();
        Dispatch();
        Combine();
        Sync();
        return ResultCollector.Collect(Handle, _received, Guard, _combined, Guard, _tokens, null, null);
    }

    /// <summary>
    /// Counts, every row the layout defines (received, gradient rows, source info, top-k), combined and token gradient,
    /// then the (expert, source) offsets and every row of the dispatch output and the gradient rows, past the counts too.
    /// </summary>
    public RankResult Collect() => ResultCollector.Collect(Handle, _received, Guard, _combined, Guard, _tokens, _gradRows, _gradX, everyRow: true);

    /// <summary>Expert-major: the handle's recvMessageRows, [W][M][K] (both backends keep it); empty otherwise.</summary>
    public int[] MessageRows() => ResultCollector.MessageRows(Handle);

    /// <summary>Null if every byte outside each output tensor still holds the pattern; else where it does not.</summary>
    public string? Guards()
    {
        long layoutBytes = _layoutRows * _rowBytes, homeBytes = _tokens * _rowBytes;
        foreach ((string name, EpBuffer b, long inside) in new[]
        {
            ("received", _received, layoutBytes), ("gradRows", _gradRows, layoutBytes),
            ("combined", _combined, homeBytes), ("gradX", _gradX, homeBytes),
        })
        {
            var bytes = new byte[b.Bytes];
            b.Download<byte>(bytes);
            int before = bytes.AsSpan(0, Guard).IndexOfAnyExcept(Pattern);
            if (before >= 0) return $"{name}: guard byte {before - Guard} (before the tensor) was overwritten (0x{bytes[before]:X2})";
            int after = bytes.AsSpan((int)(Guard + inside)).IndexOfAnyExcept(Pattern);
            if (after >= 0) return $"{name}: byte {after} past the end of the tensor was overwritten (0x{bytes[Guard + inside + after]:X2})";
        }
        return null;
    }

    public void Dispose()
    {
        foreach (EpBuffer b in new[] { _ids, _weights, _x, _grad, _received, _combined, _gradRows, _gradX, _expertOut, _expertGrad }) b.Dispose();
        _experts?.Dispose();
        Handle.Dispose();
    }
}
