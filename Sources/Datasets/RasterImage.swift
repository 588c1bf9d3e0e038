/// An 8-bit image as decoded from a file: `height` rows of `width` pixels of `channels`
/// interleaved bytes (1 = gray, 3 = RGB), row-major.
public struct RasterImage: Sendable, Equatable {
    /// Pixels per row.
    public var width: Int
    /// Rows.
    public var height: Int
    /// Bytes per pixel: 1 (gray) or 3 (RGB).
    public var channels: Int
    /// `height × width × channels` bytes, row-major, channels interleaved.
    public var pixels: [UInt8]

    public init(width: Int, height: Int, channels: Int, pixels: [UInt8]) {
        precondition(channels == 1 || channels == 3, "RasterImage: channels must be 1 or 3, got \(channels)")
        precondition(pixels.count == width * height * channels,
                     "RasterImage: \(pixels.count) bytes for \(width)×\(height)×\(channels)")
        self.width = width
        self.height = height
        self.channels = channels
        self.pixels = pixels
    }

    /// Decodes a JPEG or PNG file (told apart by their signatures) into `channels` channels.
    /// Unreadable, truncated or corrupt files throw a `DatasetError` naming `path`.
    public static func decode(file path: String, channels: Int = 3) throws -> RasterImage {
        let bytes = try FileBytes.read(path)
        return try decode(bytes, channels: channels, name: path)
    }

    /// Decodes JPEG or PNG bytes; `name` is the file named in errors.
    public static func decode(_ bytes: [UInt8], channels: Int = 3, name: String) throws -> RasterImage {
        if bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) {
            return try PNGCodec.decode(bytes, channels: channels, name: name)
        }
        if bytes.starts(with: [0xFF, 0xD8, 0xFF]) {
            return try JPEGCodec.decode(bytes, channels: channels, name: name)
        }
        let found = bytes.prefix(4).map { String($0, radix: 16, uppercase: true) }.joined(separator: " ")
        throw DatasetError(file: name, "expected a JPEG or PNG image, found bytes \(found.isEmpty ? "(empty file)" : found)")
    }
}
