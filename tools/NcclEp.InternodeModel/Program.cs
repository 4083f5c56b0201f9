using System;
using System.IO;
using NcclEp.InternodeModel;

// Prints the tables of docs/internode.md (Markdown). Options change the model's inputs; see ModelOptions.Usage.
if (args.Length > 0 && args[0] is "-h" or "--help")
{
    Console.WriteLine(ModelOptions.Usage);
    return 0;
}
try
{
    using var tables = new StringWriter();   // all or nothing: a bad input prints no half report
    new InternodeReport(ModelOptions.Parse(args)).WriteAll(tables);
    Console.Out.Write(tables.ToString());
    return 0;
}
catch (ArgumentException e)
{
    Console.Error.WriteLine(e.Message);
    Console.Error.WriteLine(ModelOptions.Usage);
    return 2;
}
