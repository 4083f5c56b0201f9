using System;
using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;

namespace NcclEp;

/// <summary>The one place that builds exceptions, kept out of line so hot paths stay small.</summary>
internal static class ThrowHelper
{
    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Argument(string paramName, string message) =>
        throw new ArgumentException(message, paramName);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void OutOfRange(string paramName, long actual, string rule) =>
        throw new ArgumentOutOfRangeException(paramName, actual, $"{paramName} = {actual} {rule}.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Null(string paramName) =>
        throw new ArgumentNullException(paramName, $"{paramName} has a null data pointer.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void NullArgument(string paramName) => throw new ArgumentNullException(paramName, $"{paramName} is null.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Disposed(string typeName) => throw new ObjectDisposedException(typeName);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void InvalidOperation(string message) => throw new InvalidOperationException(message);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void IndexOutOfRange(string dimension, long index, long length) =>
        throw new ArgumentOutOfRangeException(dimension, index, $"Index {index} is outside dimension '{dimension}' of length {length}.");

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Timeout(int rank, int peer, EpPhase phase, uint sequence, TimeSpan timeout) =>
        throw new EpTimeoutException(rank, peer, phase, sequence, timeout);

    [DoesNotReturn, MethodImpl(MethodImplOptions.NoInlining)]
    public static void Masked(int rank, int maskedBy) => throw new EpRankMaskedException(rank, maskedBy);
}
