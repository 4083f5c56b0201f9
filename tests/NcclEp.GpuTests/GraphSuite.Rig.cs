using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.Linq;
using System.Threading;
using NcclEp.Cuda;
using NcclEp.Graphs;
using NcclEp.Interop;
using NcclEp.Testing;

namespace NcclEp.GpuTests;

/// <summary>The captured step, its experts and the buffers one rank replays it on.</summary>
internal static partial class GraphSuite
{
    /// <summary>The captured step.</summary>
    private struct MoeStep : IEpStep
    {
        public EpHandle Handle;
        public EpTensor Ids, Weights, X, Received, ExpertOut, Combined;
        public ExpertsWork Expert;
        public bool Routed;  // the dispatch routes itself (one kernel node up to 128 tokens) instead of Update first

        public readonly void Run(EpStepContext context)
        {
            EpStream s = context.Stream;
            if (Routed)
            {
                context.Group.Dispatch(Handle, in Ids, in Weights, in X, in Received, s);
            }
            else
            {
                Handle.Update(in Ids, in Weights, s);
                context.Group.Dispatch(Handle, in X, in Received, s);
            }
            context.Work(Expert);
            context.Group.Combine(Handle, in ExpertOut, in Combined, s);
        }
    }

    /// <summary>One rank's handle and buffers; eager calls, the step to capture, and the outputs compared.</summary>
    private sealed class StepRig : IDisposable
    {
        private readonly EpGroup _group;
        private readonly int _tokens;
        private readonly EpBuffer _ids, _weights, _x, _received, _expertOut, _combined;
        private readonly MoeStep _step;
        private readonly GpuAffineExperts? _experts;
        private readonly bool _routed;

        public StepRig(EpGroup group, int tokens, bool cuda, bool routed = false)
        {
            _routed = routed;
            _group = group;
            _tokens = tokens;
            EpConfig c = group.Config;
            long layoutBytes = c.ReceiveRows(group.WorldSize) * c.RowBytes;
            Handle = group.CreateHandle();
            _ids = group.AllocateBuffer(Math.Max(16, tokens * c.TopK * 4));
            _weights = group.AllocateBuffer(Math.Max(16, tokens * c.TopK * 4));
            _x = group.AllocateBuffer(Math.Max(16, (long)tokens * c.RowBytes));
            _combined = group.AllocateBuffer(Math.Max(16, (long)tokens * c.RowBytes));
            _received = group.AllocateBuffer(layoutBytes);
            _expertOut = group.AllocateBuffer(layoutBytes);
            _received.Fill(0xEE);
            _expertOut.Fill(0xEE);
            _combined.Fill(0xEE);
            _experts = cuda ? new GpuAffineExperts(group) : null;
            _step = Step();
        }

        public EpHandle Handle { get; }

        public MoeStep Step()
        {
            EpConfig c = _group.Config;
            int world = _group.WorldSize;
            EpTensor Layout(EpBuffer b) => (c.Mode, c.Layout) switch
            {
                (EpMode.LowLatency, EpLayout.ExpertMajor) => b.As3D(c.DataType, _group.LocalExperts, (long)world * c.MaxTokensPerRank, c.Hidden),
                (EpMode.LowLatency, EpLayout.RankMajor) => b.As3D(c.DataType, world, c.MaxTokensPerRank, c.Hidden),
                _ => b.As2D(c.DataType, c.ReceiveRows(world), c.Hidden),
            };
            return new MoeStep
            {
                Handle = Handle,
                Ids = _ids.As2D(EpDataType.Int32, _tokens, c.TopK),
                Weights = _weights.As2D(EpDataType.Float32, _tokens, c.TopK),
                X = _x.As2D(c.DataType, _tokens, c.Hidden),
                Received = Layout(_received),
                ExpertOut = Layout(_expertOut),
                Combined = _combined.As2D(c.DataType, _tokens, c.Hidden),
                Expert = new ExpertsWork(Handle, Layout(_received), Layout(_expertOut), EpPass.Forward, _experts),
                Routed = _routed,
            };
        }

        /// <summary>The step's calls made directly (no NcclEp.Graphs).</summary>
        public void RunEager(EpStream s)
        {
            if (_routed)
            {
                _group.Dispatch(Handle, in _step.Ids, in _step.Weights, in _step.X, in _step.Received, s);
            }
            else
            {
                Handle.Update(in _step.Ids, in _step.Weights, s);
                _group.Dispatch(Handle, in _step.X, in _step.Received, s);
            }
            _step.Expert.Execute(s);
            _group.Combine(Handle, in _step.ExpertOut, in _step.Combined, s);
        }

        public void Upload(RankBatch b)
        {
            _ids.Upload<int>(b.Ids);
            _weights.Upload<float>(b.Weights);
            _x.Upload<byte>(b.X);
        }

        /// <summary>Combined rows, then the received counts per rank and per local expert and the total (synchronous downloads).</summary>
        public byte[] Outputs()
        {
            int world = _group.WorldSize, local = _group.LocalExperts;
            var bytes = new byte[((long)_tokens * _group.Config.RowBytes) + ((world + local + 1) * 4)];
            Span<byte> span = bytes;
            int rows = _tokens * _group.Config.RowBytes;
            if (rows > 0) _combined.Download(span[..rows]);
            Download(Handle.ReceivedRankCounts, span.Slice(rows, world * 4));
            Download(Handle.ReceivedExpertCounts, span.Slice(rows + (world * 4), local * 4));
            Download(Handle.ReceivedTotal, span.Slice(rows + ((world + local) * 4), 4));
            return bytes;
        }

        /// <summary>Names the output an offset of <see cref="Outputs"/> falls in.</summary>
        public static string Describe(int offset) => $"offset {offset}: combined rows first, then rank counts, expert counts, total";

        private void Download(EpTensor t, Span<byte> destination) => HandleState.Read(Handle, t.Data, destination);

        public void Dispose()
        {
            foreach (EpBuffer b in new[] { _ids, _weights, _x, _received, _expertOut, _combined }) b.Dispose();
            Handle.Dispose();
            _experts?.Dispose();
        }
    }
}
