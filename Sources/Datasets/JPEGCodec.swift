import CImageCodecs
import Foundation

/// JPEG reading and writing through libjpeg-turbo's libjpeg API.
///
/// libjpeg reports a fatal error by calling `error_exit`, which must not return; C callers
/// `longjmp` out of it, which Swift cannot do. So every libjpeg session runs on a dedicated
/// thread (`LibJPEGThread`), and our `error_exit` records libjpeg's message and ends that
/// thread with `pthread_exit`. The calling thread joins it, destroys the libjpeg object
/// (which frees libjpeg's memory) and throws a `DatasetError`. Warnings (`emit_message` at
/// level −1: "Corrupt JPEG data: …", "Premature end of JPEG file") are recorded too and
/// also turn into an error: a damaged image never passes silently.
public enum JPEGCodec {
    /// Decodes JPEG bytes into 8-bit gray (`channels` 1) or RGB (3).
    public static func decode(_ bytes: [UInt8], channels: Int, name: String) throws -> RasterImage {
        precondition(channels == 1 || channels == 3, "JPEGCodec: channels must be 1 or 3")
        let session = LibJPEGThread()
        let decompressor = UnsafeMutablePointer<jpeg_decompress_struct>.allocate(capacity: 1)
        decompressor.initialize(to: jpeg_decompress_struct())
        let input = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
        _ = input.initialize(fromContentsOf: bytes)
        defer {
            jpeg_destroy_decompress(decompressor)
            decompressor.deallocate()
            input.deallocate()
        }
        let output = OutputBox()
        session.run(decompressor.withMemoryRebound(to: jpeg_common_struct.self, capacity: 1) { $0 }) { errorManager in
            decompressor.pointee.err = errorManager
            jpeg_CreateDecompress(decompressor, JPEG_LIB_VERSION, MemoryLayout<jpeg_decompress_struct>.size)
            jpeg_mem_src(decompressor, input.baseAddress, UInt(bytes.count))
            _ = jpeg_read_header(decompressor, 1)
            decompressor.pointee.out_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB
            _ = jpeg_start_decompress(decompressor)
            let width = Int(decompressor.pointee.output_width), height = Int(decompressor.pointee.output_height)
            guard Int(decompressor.pointee.output_components) == channels, width * height <= 1 << 28 else {
                output.problem = "unsupported JPEG: \(decompressor.pointee.output_components) components, \(width)×\(height)"
                return
            }
            let pixels = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: width * height * channels)
            output.pixels = pixels
            output.size = (width, height)
            let rowBytes = width * channels
            while decompressor.pointee.output_scanline < decompressor.pointee.output_height {
                var row: JSAMPROW? = pixels.baseAddress! + Int(decompressor.pointee.output_scanline) * rowBytes
                _ = jpeg_read_scanlines(decompressor, &row, 1)
            }
            _ = jpeg_finish_decompress(decompressor)
        }
        defer { output.pixels?.deallocate() }
        if let failure = session.failure ?? output.problem { throw DatasetError(file: name, "unreadable JPEG: \(failure)") }
        if let warning = session.warning { throw DatasetError(file: name, "corrupt JPEG: \(warning)") }
        guard let pixels = output.pixels else { throw DatasetError(file: name, "unreadable JPEG") }
        return RasterImage(width: output.size.width, height: output.size.height, channels: channels, pixels: Array(pixels))
    }

    /// Encodes an 8-bit gray or RGB image as a baseline JPEG at `quality` (1–100).
    public static func encode(_ image: RasterImage, quality: Int = 90) throws -> [UInt8] {
        let session = LibJPEGThread()
        let compressor = UnsafeMutablePointer<jpeg_compress_struct>.allocate(capacity: 1)
        compressor.initialize(to: jpeg_compress_struct())
        let destination = UnsafeMutablePointer<UnsafeMutablePointer<UInt8>?>.allocate(capacity: 1)
        destination.initialize(to: nil)
        let destinationSize = UnsafeMutablePointer<UInt>.allocate(capacity: 1)
        destinationSize.initialize(to: 0)
        let pixels = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: image.pixels.count)
        _ = pixels.initialize(fromContentsOf: image.pixels)
        defer {
            jpeg_destroy_compress(compressor)
            free(destination.pointee)
            compressor.deallocate()
            destination.deallocate()
            destinationSize.deallocate()
            pixels.deallocate()
        }
        let (width, height, channels) = (image.width, image.height, image.channels)
        session.run(compressor.withMemoryRebound(to: jpeg_common_struct.self, capacity: 1) { $0 }) { errorManager in
            compressor.pointee.err = errorManager
            jpeg_CreateCompress(compressor, JPEG_LIB_VERSION, MemoryLayout<jpeg_compress_struct>.size)
            jpeg_mem_dest(compressor, destination, destinationSize)
            compressor.pointee.image_width = JDIMENSION(width)
            compressor.pointee.image_height = JDIMENSION(height)
            compressor.pointee.input_components = Int32(channels)
            compressor.pointee.in_color_space = channels == 1 ? JCS_GRAYSCALE : JCS_RGB
            jpeg_set_defaults(compressor)
            jpeg_set_quality(compressor, Int32(quality), 1)
            jpeg_start_compress(compressor, 1)
            while compressor.pointee.next_scanline < compressor.pointee.image_height {
                var row: JSAMPROW? = pixels.baseAddress! + Int(compressor.pointee.next_scanline) * width * channels
                _ = jpeg_write_scanlines(compressor, &row, 1)
            }
            jpeg_finish_compress(compressor)
        }
        if let failure = session.failure { throw DatasetError(file: "<memory>", "cannot encode JPEG: \(failure)") }
        guard let start = destination.pointee else { throw DatasetError(file: "<memory>", "cannot encode JPEG") }
        return Array(UnsafeBufferPointer(start: start, count: Int(destinationSize.pointee)))
    }

    /// Encodes `image` and writes it to `path`.
    public static func write(_ image: RasterImage, to path: String, quality: Int = 90) throws {
        try FileBytes.write(try encode(image, quality: quality), to: path)
    }

    /// What the decoding thread hands back.
    /// `@unchecked Sendable`: written only by the libjpeg thread, read only after it is joined.
    private final class OutputBox: @unchecked Sendable {
        var pixels: UnsafeMutableBufferPointer<UInt8>?
        var size = (width: 0, height: 0)
        var problem: String?
    }
}

/// Runs one libjpeg session on its own thread so that libjpeg's fatal errors can end that
/// thread (`pthread_exit`) instead of the process.
///
/// `@unchecked Sendable`: the fields are written by the session thread and read by the
/// caller only after `pthread_join`, which orders the accesses.
final class LibJPEGThread: @unchecked Sendable {
    /// libjpeg's message for a fatal error, if one ended the session.
    private(set) var failure: String?
    /// The first warning libjpeg emitted (corrupt data it worked around).
    private(set) var warning: String?
    private var errorManager = jpeg_error_mgr()
    private var body: ((UnsafeMutablePointer<jpeg_error_mgr>) -> Void)?
    private var common: UnsafeMutablePointer<jpeg_common_struct>?

    /// Runs `body` (which must install the given error manager before any other libjpeg
    /// call on `common`) on a new thread and waits for it.
    func run(_ common: UnsafeMutablePointer<jpeg_common_struct>,
             _ body: @escaping (UnsafeMutablePointer<jpeg_error_mgr>) -> Void) {
        self.common = common
        self.body = body
        var thread = pthread_t()
        let context = Unmanaged.passUnretained(self).toOpaque()
        guard pthread_create(&thread, nil, libJPEGThreadEntry, context) == 0 else {
            failure = "cannot start a decoding thread"
            return
        }
        pthread_join(thread, nil)
        self.body = nil
    }

    fileprivate func enter() {
        _ = jpeg_std_error(&errorManager)
        errorManager.error_exit = libJPEGErrorExit
        errorManager.emit_message = libJPEGEmitMessage
        common?.pointee.client_data = Unmanaged.passUnretained(self).toOpaque()
        withUnsafeMutablePointer(to: &errorManager) { manager in body?(manager) }
    }

    fileprivate func record(_ common: UnsafeMutablePointer<jpeg_common_struct>, fatal: Bool) {
        var buffer = [CChar](repeating: 0, count: Int(JMSG_LENGTH_MAX))
        common.pointee.err.pointee.format_message(common, &buffer)
        let message = buffer.withUnsafeBytes { String(decoding: $0.prefix(while: { $0 != 0 }), as: UTF8.self) }
        if fatal { failure = message } else if warning == nil { warning = message }
    }

    fileprivate static func owner(_ common: UnsafeMutablePointer<jpeg_common_struct>) -> LibJPEGThread? {
        common.pointee.client_data.map { Unmanaged<LibJPEGThread>.fromOpaque($0).takeUnretainedValue() }
    }
}

private func libJPEGThreadEntry(_ context: UnsafeMutableRawPointer?) -> UnsafeMutableRawPointer? {
    guard let context else { return nil }
    Unmanaged<LibJPEGThread>.fromOpaque(context).takeUnretainedValue().enter()
    return nil
}

/// libjpeg's fatal-error hook: keep the message, then end the session thread.
private func libJPEGErrorExit(_ common: j_common_ptr?) {
    if let common, let owner = LibJPEGThread.owner(common) { owner.record(common, fatal: true) }
    pthread_exit(nil)
}

/// libjpeg's message hook: level −1 is a warning about corrupt data; others are trace output.
private func libJPEGEmitMessage(_ common: j_common_ptr?, _ level: Int32) {
    guard level < 0, let common, let owner = LibJPEGThread.owner(common) else { return }
    owner.record(common, fatal: false)
}
