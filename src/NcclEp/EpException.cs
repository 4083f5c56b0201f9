using System;
namespace NcclEp;

/// <summary>Base of the errors that NcclEp raises for failures outside the caller's arguments.</summary>
public class EpException : Exception
{
    /// <summary>Creates an exception with a message.</summary>
    public EpException(string message) : base(message) { }

    /// <summary>Creates an exception with a message and a cause.</summary>
    public EpException(string message, Exception inner) : base(message, inner) { }

    /// <summary>Creates an exception with no message.</summary>
    public EpException() { }
}
