import CJPEGDecoding
import Foundation

/// JPEG reading and writing through libjpeg-turbo's libjpeg API.
///
/// libjpeg reports a fatal error by calling `error_exit`, which must not return. The C target
/// `CJPEGDecoding` handles that the way libjpeg documents: its `error_exit` keeps libjpeg's
/// message and `longjmp`s back into the C function that started the session, which destroys
/// the libjpeg object, frees any partial output and returns the message. Everything runs on
/// the calling thread. Warnings (`emit_message` at level −1: "Corrupt JPEG data: …",
/// "Premature end of JPEG file") are kept too and also turn into an error: a damaged image
/// never passes silently.
public enum JPEGCodec {
    /// Decodes JPEG bytes into 8-bit gray (`channels` 1) or RGB (3).
    public static func decode(_ bytes: [UInt8], channels: Int, name: String) throws -> RasterImage {
        precondition(channels == 1 || channels == 3, "JPEGCodec: channels must be 1 or 3")
        var pixels: UnsafeMutablePointer<UInt8>?
        var width: Int32 = 0, height: Int32 = 0
        let (status, message) = withMessageBuffer { message, capacity in
            bytes.withUnsafeBufferPointer { input in
                pv_jpeg_decode(input.baseAddress, input.count, Int32(channels), &pixels, &width, &height,
                               message, capacity)
            }
        }
        defer { pv_jpeg_free(pixels) }
        switch status {
        case PV_JPEG_OK:
            guard let pixels else { throw DatasetError(file: name, "unreadable JPEG") }
            let count = Int(width) * Int(height) * channels
            return RasterImage(width: Int(width), height: Int(height), channels: channels,
                               pixels: Array(UnsafeBufferPointer(start: pixels, count: count)))
        case PV_JPEG_CORRUPT:
            throw DatasetError(file: name, "corrupt JPEG: \(message)")
        default:
            throw DatasetError(file: name, "unreadable JPEG: \(message)")
        }
    }

    /// Encodes an 8-bit gray or RGB image as a baseline JPEG at `quality` (1–100).
    public static func encode(_ image: RasterImage, quality: Int = 90) throws -> [UInt8] {
        var jpeg: UnsafeMutablePointer<UInt8>?
        var size = 0
        let (status, message) = withMessageBuffer { message, capacity in
            image.pixels.withUnsafeBufferPointer { pixels in
                pv_jpeg_encode(pixels.baseAddress, Int32(clamping: image.width), Int32(clamping: image.height),
                               Int32(image.channels), Int32(clamping: quality), &jpeg, &size, message, capacity)
            }
        }
        defer { pv_jpeg_free(jpeg) }
        guard status == PV_JPEG_OK, let jpeg else {
            throw DatasetError(file: "<memory>", "cannot encode JPEG: \(message)")
        }
        return Array(UnsafeBufferPointer(start: jpeg, count: size))
    }

    /// Encodes `image` and writes it to `path`.
    public static func write(_ image: RasterImage, to path: String, quality: Int = 90) throws {
        try FileBytes.write(try encode(image, quality: quality), to: path)
    }

    /// Runs `body` with a message buffer for `CJPEGDecoding`; returns its status and message.
    private static func withMessageBuffer(
        _ body: (UnsafeMutablePointer<CChar>, Int) -> Int32
    ) -> (status: Int, message: String) {
        var buffer = [CChar](repeating: 0, count: Int(PV_JPEG_MESSAGE_CAPACITY))
        let status = buffer.withUnsafeMutableBufferPointer { body($0.baseAddress!, $0.count) }
        let message = buffer.withUnsafeBytes { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        return (Int(status), message.isEmpty ? "unknown libjpeg error" : message)
    }
}
