using System;
using System.Globalization;
using System.Text;

namespace NcclEp.Generators.Helpers;

/// <summary>A small indented text writer; everything it formats uses the invariant culture.</summary>
internal sealed class CodeWriter
{
    private const string IndentUnit = "    ";
    private readonly StringBuilder _text = new();
    private int _indent;

    /// <summary>Writes one line at the current indentation (an empty line stays empty).</summary>
    public CodeWriter Line(string text = "")
    {
        if (text.Length != 0)
        {
            for (int i = 0; i < _indent; i++) _text.Append(IndentUnit);
            _text.Append(text);
        }
        _text.Append('\n');
        return this;
    }

    /// <summary>Writes one formatted line (invariant culture).</summary>
    public CodeWriter Line(string format, params object[] args) =>
        Line(string.Format(CultureInfo.InvariantCulture, format, args));

    /// <summary>Writes <c>{</c>, indents until the returned scope is disposed, then writes <c>}</c> (plus <paramref name="suffix"/>).</summary>
    public Block Open(string suffix = "")
    {
        Line("{");
        _indent++;
        return new Block(this, suffix);
    }

    /// <summary>Indents the lines written until the returned scope is disposed (no braces).</summary>
    public Indentation Indent()
    {
        _indent++;
        return new Indentation(this);
    }

    /// <summary>Writes a <c>///</c> line at the current indentation.</summary>
    public CodeWriter Doc(string text) => Line(text.Length == 0 ? "///" : "/// " + text);

    public override string ToString() => _text.ToString();

    private void Close(string suffix)
    {
        _indent--;
        Line("}" + suffix);
    }

    /// <summary>The scope of a braced block.</summary>
    public readonly struct Block : IDisposable
    {
        private readonly CodeWriter _writer;
        private readonly string _suffix;

        public Block(CodeWriter writer, string suffix)
        {
            _writer = writer;
            _suffix = suffix;
        }

        public void Dispose() => _writer.Close(_suffix);
    }

    /// <summary>The scope of an indentation without braces.</summary>
    public readonly struct Indentation : IDisposable
    {
        private readonly CodeWriter _writer;

        public Indentation(CodeWriter writer) => _writer = writer;

        public void Dispose() => _writer._indent--;
    }
}
