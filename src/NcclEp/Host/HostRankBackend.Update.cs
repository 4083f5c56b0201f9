using System;
using System.Threading;
using NcclEp.Backend;

namespace NcclEp.Host;

/// <summary>
/// Update: check the routing, then fill the handle's send-side state (positions, counts, the token at each row sent). A
/// dispatch that brings its own routing runs exactly this first (<see cref="Route"/>).
/// </summary>
internal sealed unsafe partial class HostRankBackend
{
    public void Update(EpHandle handle, ref readonly EpLaunchArgs args)
    {
        BeginCall();
        Route(handle, in args);
    }

    public void CheckRouting(ref readonly EpLaunchArgs args) => ValidateRouting(in args);

    /// <summary>The routing of <paramref name="args"/> into <paramref name="handle"/>: checked, then written.</summary>
    private void Route(EpHandle handle, ref readonly EpLaunchArgs args)
    {
        int tokens = args.NumTokens, k = _topK;
        ValidateRouting(in args);

        HandleLayout h = handle.Layout;
        byte* state = (byte*)handle.State;
        *(int*)(state + h.NumTokens) = tokens;
        int* ids = (int*)(state + h.TopKIds);
        float* weights = (float*)(state + h.TopKWeights);
        int* rankPositions = (int*)(state + h.RankPositions);
        int* slotPositions = (int*)(state + h.SlotPositions);
        int* rankCounts = (int*)(state + h.SendRankCounts);
        int* expertCounts = (int*)(state + h.SendExpertCounts);
        int* sendTokens = (int*)(state + h.SendTokens);
        new Span<int>(rankCounts, _worldSize).Clear();
        new Span<int>(expertCounts, _numExperts).Clear();

        for (int t = 0; t < tokens; t++)
        {
            int* srcIds = (int*)((byte*)args.TopKIds + (t * args.TopKIdsRowStride));
            float* srcWeights = (float*)((byte*)args.TopKWeights + (t * args.TopKWeightsRowStride));
            int* positions = rankPositions + ((long)t * _worldSize);
            new Span<int>(positions, _worldSize).Fill(-1);
            for (int slot = 0; slot < k; slot++)
            {
                int e = srcIds[slot];
                ids[(t * k) + slot] = e;
                weights[(t * k) + slot] = srcWeights[slot];
                if (e < 0)
                {
                    slotPositions[(t * k) + slot] = -1;
                    continue;
                }
                int r = e / _localExperts;
                slotPositions[(t * k) + slot] = expertCounts[e]++;
                if (positions[r] >= 0) continue;
                positions[r] = rankCounts[r]++;
                sendTokens[((long)r * _maxTokens) + positions[r]] = t;
            }
        }
    }

    /// <summary>Every id in [-1, NumExperts), none twice in a token: checked before anything is written.</summary>
    private void ValidateRouting(ref readonly EpLaunchArgs args)
    {
        for (int t = 0; t < args.NumTokens; t++)
        {
            int* ids = (int*)((byte*)args.TopKIds + (t * args.TopKIdsRowStride));
            for (int slot = 0; slot < _topK; slot++)
            {
                int e = ids[slot];
                if (e < -1 || e >= _numExperts)
                    ThrowHelper.OutOfRange("topkIds", e, $"(token {t}, slot {slot}) is not an expert id: ids must be -1 (none) or 0..{_numExperts - 1}");
                if (e < 0) continue;
                for (int earlier = 0; earlier < slot; earlier++)
                {
                    if (ids[earlier] == e)
                        ThrowHelper.Argument("topkIds", $"topkIds: token {t} picks expert {e} twice (slots {earlier} and {slot}); a token's experts must be distinct.");
                }
            }
        }
    }
}
