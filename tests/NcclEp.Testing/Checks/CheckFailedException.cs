using System;

namespace NcclEp.Testing;

/// <summary>An output differs from the reference; the message names the output, where, and both values.</summary>
public sealed class CheckFailedException : Exception
{
    public CheckFailedException(string message) : base(message)
    {
    }
}
