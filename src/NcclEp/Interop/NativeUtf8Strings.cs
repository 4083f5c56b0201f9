using System;
using System.Collections.Generic;
using System.Runtime.InteropServices;

namespace NcclEp.Interop;

/// <summary>
/// A native array of NUL-terminated UTF-8 strings (<c>const char* const*</c>) for control-path calls such as
/// nvrtcCompileProgram. Owns its memory; free it with <see cref="Dispose"/>.
/// </summary>
internal sealed unsafe class NativeUtf8Strings : IDisposable
{
    private byte** _pointers;

    public NativeUtf8Strings(IReadOnlyList<string> strings)
    {
        ArgumentNullException.ThrowIfNull(strings);
        Count = strings.Count;
        for (int i = 0; i < Count; i++)
        {
            if (strings[i] is null)
            {
                throw new ArgumentException($"Entry {i} is null.", nameof(strings));
            }
        }

        _pointers = (byte**)NativeMemory.AllocZeroed((nuint)Math.Max(Count, 1), (nuint)sizeof(byte*));
        for (int i = 0; i < Count; i++)
        {
            _pointers[i] = (byte*)Marshal.StringToCoTaskMemUTF8(strings[i]);
        }
    }

    /// <summary>How many strings.</summary>
    public int Count { get; }

    /// <summary>The array, or null when it is empty (what C APIs expect for a zero count).</summary>
    public byte** Pointers => Count == 0 ? null : _pointers;

    /// <summary>The i-th string.</summary>
    public byte* this[int index] => (uint)index < (uint)Count ? _pointers[index] : throw new ArgumentOutOfRangeException(nameof(index));

    public void Dispose()
    {
        byte** pointers = _pointers;
        if (pointers == null)
        {
            return;
        }

        _pointers = null;
        for (int i = 0; i < Count; i++)
        {
            Marshal.FreeCoTaskMem((nint)pointers[i]);
        }

        NativeMemory.Free(pointers);
    }
}
