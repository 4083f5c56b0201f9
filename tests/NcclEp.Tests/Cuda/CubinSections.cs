using System;
using System.Buffers.Binary;
using System.Text;

namespace NcclEp.Tests.Cuda;

/// <summary>Reads a cubin's ELF64 section headers: how much static shared memory a kernel declares.</summary>
internal static class CubinSections
{
    /// <summary>
    /// The size of section <c>.nv.shared.KERNEL</c> (the kernel's static shared memory), or 0 when the kernel declares none;
    /// throws when the image is not ELF64 or has no function of that name.
    /// </summary>
    public static long StaticSharedBytes(byte[] cubin, string kernel)
    {
        ReadOnlySpan<byte> image = cubin;
        if (image.Length < 64 || !image[..4].SequenceEqual("\u007fELF"u8) || image[4] != 2)
            throw new ArgumentException("not an ELF64 image", nameof(cubin));
        long sectionTable = BinaryPrimitives.ReadInt64LittleEndian(image[0x28..]);
        int entrySize = BinaryPrimitives.ReadUInt16LittleEndian(image[0x3A..]);
        int count = BinaryPrimitives.ReadUInt16LittleEndian(image[0x3C..]);
        int namesIndex = BinaryPrimitives.ReadUInt16LittleEndian(image[0x3E..]);
        long namesOffset = BinaryPrimitives.ReadInt64LittleEndian(image.Slice((int)(sectionTable + (long)namesIndex * entrySize), entrySize)[0x18..]);

        bool hasCode = false;
        long shared = 0;
        for (int i = 0; i < count; i++)
        {
            ReadOnlySpan<byte> header = image.Slice((int)(sectionTable + (long)i * entrySize), entrySize);
            int nameAt = (int)(namesOffset + BinaryPrimitives.ReadUInt32LittleEndian(header));
            ReadOnlySpan<byte> rest = image[nameAt..];
            string name = Encoding.ASCII.GetString(rest[..rest.IndexOf((byte)0)]);
            if (name == $".text.{kernel}") hasCode = true;
            if (name == $".nv.shared.{kernel}") shared = BinaryPrimitives.ReadInt64LittleEndian(header[0x20..]);
        }
        if (!hasCode) throw new ArgumentException($"the image has no function {kernel}", nameof(kernel));
        return shared;
    }
}
