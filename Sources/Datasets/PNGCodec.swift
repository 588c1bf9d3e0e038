import CImageCodecs
import Foundation

/// PNG reading and writing through libpng's simplified API (`png_image_*`), which reports
/// errors through return values and `png_image.message` (no setjmp is needed from Swift).
public enum PNGCodec {
    /// Decodes PNG bytes into 8-bit gray (`channels` 1) or RGB (3), converting as needed.
    public static func decode(_ bytes: [UInt8], channels: Int, name: String) throws -> RasterImage {
        precondition(channels == 1 || channels == 3, "PNGCodec: channels must be 1 or 3")
        var image = png_image()
        image.version = UInt32(PNG_IMAGE_VERSION)
        let began = bytes.withUnsafeBytes { raw in
            png_image_begin_read_from_memory(&image, raw.baseAddress, raw.count)
        }
        guard began != 0 else {
            defer { png_image_free(&image) }
            throw DatasetError(file: name, "unreadable PNG: \(message(image))")
        }
        image.format = channels == 1 ? UInt32(PNG_FORMAT_GRAY) : UInt32(PNG_FORMAT_RGB)
        let width = Int(image.width), height = Int(image.height)
        guard width > 0, height > 0, width * height <= 1 << 28 else {
            png_image_free(&image)
            throw DatasetError(file: name, "unreadable PNG: implausible size \(width)×\(height)")
        }
        var pixels = [UInt8](repeating: 0, count: width * height * channels)
        let finished = pixels.withUnsafeMutableBytes { raw in
            png_image_finish_read(&image, nil, raw.baseAddress, 0, nil)
        }
        guard finished != 0 else {
            defer { png_image_free(&image) }
            throw DatasetError(file: name, "corrupt PNG: \(message(image))")
        }
        png_image_free(&image)
        return RasterImage(width: width, height: height, channels: channels, pixels: pixels)
    }

    /// Writes `image` as an 8-bit gray or RGB PNG file at `path`.
    public static func write(_ image: RasterImage, to path: String) throws {
        var descriptor = png_image()
        descriptor.version = UInt32(PNG_IMAGE_VERSION)
        descriptor.width = UInt32(image.width)
        descriptor.height = UInt32(image.height)
        descriptor.format = image.channels == 1 ? UInt32(PNG_FORMAT_GRAY) : UInt32(PNG_FORMAT_RGB)
        let written = image.pixels.withUnsafeBytes { raw in
            png_image_write_to_file(&descriptor, path, 0, raw.baseAddress, 0, nil)
        }
        defer { png_image_free(&descriptor) }
        guard written != 0 else { throw DatasetError(file: path, "cannot write PNG: \(message(descriptor))") }
    }

    /// libpng's message for the last failure (a NUL-terminated char[64]).
    private static func message(_ image: png_image) -> String {
        withUnsafeBytes(of: image.message) { raw in
            let text = String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            return text.isEmpty ? "unknown libpng error" : text
        }
    }
}
