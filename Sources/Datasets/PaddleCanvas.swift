import Foundation

/// A pixel position, row `y` and column `x` (snakes2.py's `[y, x]` coordinates).
public struct PixelPoint: Hashable, Sendable, Comparable, CustomStringConvertible {
    /// Row, from the top.
    public var y: Int
    /// Column, from the left.
    public var x: Int

    public init(y: Int, x: Int) {
        self.y = y
        self.x = x
    }

    /// snakes2.py's `translate_coord`: move `distance` along `orientation` (radians, y down),
    /// rounding each coordinate up.
    public func translated(_ orientation: Double, _ distance: Double) -> PixelPoint {
        PixelPoint(y: Int((Double(y) + distance * sin(orientation)).rounded(.up)),
                   x: Int((Double(x) + distance * cos(orientation)).rounded(.up)))
    }

    public static func < (lhs: PixelPoint, rhs: PixelPoint) -> Bool { (lhs.y, lhs.x) < (rhs.y, rhs.x) }
    public var description: String { "(\(y), \(x))" }
}

/// The rendered footprint of one paddle relative to its start pixel: the antialiased stroke
/// and its mask (the stroke dilated by the margin), each scaled so its peak is 1 — as
/// `scipy.misc.imresize` rescales snakes2.py's supersampled drawings.
struct PaddleShape {
    var offsets: [PixelPoint] = []
    var stroke: [Float] = []
    var mask: [Float] = []

    /// Subsamples per pixel side used to antialias.
    static let subsamples = 4

    /// A stroke of `length` pixels from the start pixel's centre along `orientation`, `thickness` wide.
    init(orientation: Double, length: Int, thickness: Double, margin: Int) {
        let reach = length + Int(thickness.rounded(.up)) + margin
        let end = (y: Double(length) * sin(orientation), x: Double(length) * cos(orientation))
        let strokeRadius = thickness / 2, maskRadius = thickness / 2 + Double(margin)
        let n = Self.subsamples
        let lengthSquared = end.y * end.y + end.x * end.x
        var peakStroke: Float = 0, peakMask: Float = 0
        for dy in -reach...reach {
            for dx in -reach...reach {
                var strokeHits = 0, maskHits = 0
                for sy in 0..<n {
                    let py = Double(dy) + (Double(sy) + 0.5) / Double(n) - 0.5
                    for sx in 0..<n {
                        let px = Double(dx) + (Double(sx) + 0.5) / Double(n) - 0.5
                        let along = lengthSquared > 0 ? min(1, max(0, (py * end.y + px * end.x) / lengthSquared)) : 0
                        let distance = ((py - along * end.y) * (py - along * end.y) + (px - along * end.x) * (px - along * end.x)).squareRoot()
                        if distance <= strokeRadius { strokeHits += 1 }
                        if distance <= maskRadius { maskHits += 1 }
                    }
                }
                guard maskHits > 0 else { continue }
                offsets.append(PixelPoint(y: dy, x: dx))
                stroke.append(Float(strokeHits))
                mask.append(Float(maskHits))
                peakStroke = max(peakStroke, Float(strokeHits))
                peakMask = max(peakMask, Float(maskHits))
            }
        }
        if peakStroke > 0 { stroke = stroke.map { $0 / peakStroke } }
        mask = mask.map { $0 / peakMask }
    }

    /// The offsets fully inside the mask: snakes2.py's oriented dilation structure for seeding.
    var solidOffsets: [PixelPoint] {
        zip(offsets, mask).filter { $0.1 >= 0.999 }.map(\.0)
    }
}

/// Paddle shapes by orientation and margin. Growing one image takes up to thousands of
/// attempts that draw the same few hundred orientations, so shapes are rendered once.
/// Not shared between threads: each image's generation makes its own.
final class PaddleShapeCache {
    private struct Key: Hashable {
        let orientation: UInt64
        let margin: Int
    }

    let length: Int
    let thickness: Double
    private var shapes: [Key: PaddleShape] = [:]

    init(length: Int, thickness: Double) {
        self.length = length
        self.thickness = thickness
    }

    func shape(_ orientation: Double, margin: Int) -> PaddleShape {
        let key = Key(orientation: orientation.bitPattern, margin: margin)
        if let shape = shapes[key] { return shape }
        let shape = PaddleShape(orientation: orientation, length: length, thickness: thickness, margin: margin)
        shapes[key] = shape
        return shape
    }
}

/// The image and occupancy mask a Pathfinder sample is drawn into (snakes2.py's `image` and
/// `mask`), with the queries the contour growth needs. Values are intensities (not yet bytes).
struct PaddleCanvas {
    let size: Int
    var image: [Float]
    var mask: [Float]
    /// Rendered paddles, shared by every canvas of one image's attempts.
    let shapes: PaddleShapeCache

    /// A blank canvas whose mask marks a border of `padding` pixels as occupied.
    init(size: Int, padding: Int, shapes: PaddleShapeCache) {
        self.size = size
        self.shapes = shapes
        image = [Float](repeating: 0, count: size * size)
        mask = image
        for y in 0..<size {
            for x in 0..<size where y < padding || x < padding || y >= size - padding || x >= size - padding {
                mask[y * size + x] = 1
            }
        }
    }

    func contains(_ point: PixelPoint) -> Bool {
        point.y >= 0 && point.x >= 0 && point.y < size && point.x < size
    }

    /// Largest `mask + shape.mask` over the paddle's pixels: ≥ 1.8 means it would overlap
    /// an existing paddle (snakes2.py's acceptance test).
    func largestOverlap(_ shape: PaddleShape, at start: PixelPoint) -> Float {
        var largest: Float = 0
        mask.withUnsafeBufferPointer { mask in
            for (offset, value) in zip(shape.offsets, shape.mask) {
                let y = start.y + offset.y, x = start.x + offset.x
                guard y >= 0 && x >= 0 && y < size && x < size else { continue }
                largest = max(largest, mask[y * size + x] + value)
            }
        }
        return largest
    }

    /// Draws the stroke at `contrast` (max with what is there).
    mutating func draw(_ shape: PaddleShape, at start: PixelPoint, contrast: Float) {
        stamp(shape.offsets, shape.stroke, at: start, scale: contrast, into: &image)
    }

    /// Adds the paddle's mask to the occupancy mask.
    mutating func occupy(_ shape: PaddleShape, at start: PixelPoint) {
        stamp(shape.offsets, shape.mask, at: start, scale: 1, into: &mask)
    }

    private func stamp(_ offsets: [PixelPoint], _ values: [Float], at start: PixelPoint, scale: Float, into target: inout [Float]) {
        let size = self.size
        target.withUnsafeMutableBufferPointer { target in
            for (offset, value) in zip(offsets, values) {
                let y = start.y + offset.y, x = start.x + offset.x
                guard y >= 0 && x >= 0 && y < size && x < size else { continue }
                target[y * size + x] = max(target[y * size + x], value * scale)
            }
        }
    }

    /// The mask's maximum over a disc of `radius` around `point` (the mask dilated by the margin).
    func dilatedMask(at point: PixelPoint, radius: Int) -> Float {
        var largest: Float = 0
        mask.withUnsafeBufferPointer { mask in
            for dy in -radius...radius {
                for dx in -radius...radius where dy * dy + dx * dx <= radius * radius {
                    let y = point.y + dy, x = point.x + dx
                    guard y >= 0 && x >= 0 && y < size && x < size else { continue }
                    largest = max(largest, mask[y * size + x])
                }
            }
        }
        return largest
    }

    /// Fraction of pixels whose mask is at most 0.3 (free).
    var freeFraction: Double {
        Double(mask.lazy.filter { $0 <= 0.3 }.count) / Double(size * size)
    }

    /// Row-major positions where a paddle with footprint `solid` can start: every footprint
    /// pixel is inside the canvas, at least `border` pixels from the edge, and free (mask ≤ 0.3).
    func seedPositions(solid: [PixelPoint], border: Int) -> [PixelPoint] {
        var positions: [PixelPoint] = []
        let size = self.size
        mask.withUnsafeBufferPointer { mask in
            solid.withUnsafeBufferPointer { solid in
                for y in 0..<size {
                    for x in 0..<size {
                        var free = true
                        for offset in solid {
                            let sy = y + offset.y, sx = x + offset.x
                            if sy < border || sx < border || sy >= size - border || sx >= size - border || mask[sy * size + sx] > 0.3 {
                                free = false
                                break
                            }
                        }
                        if free { positions.append(PixelPoint(y: y, x: x)) }
                    }
                }
            }
        }
        return positions
    }

    /// Intensities → bytes as `scipy.misc.imsave` does (`bytescale`): the minimum maps to 0,
    /// the maximum to 255, rounding by +0.4999 and truncation.
    func bytes(with overlay: [Float]) -> [UInt8] {
        let combined = zip(image, overlay).map { max($0, $1) }
        let low = combined.min() ?? 0, high = combined.max() ?? 0
        guard high > low else { return [UInt8](repeating: 0, count: combined.count) }
        let scale = 255 / (high - low)
        return combined.map { UInt8(min(255, max(0, ($0 - low) * scale + 0.4999))) }
    }

    /// A disc of `radius` at `centre`, antialiased and scaled to peak 1 (snakes2.py's `draw_circle`).
    func disc(at centre: PixelPoint, radius: Double) -> [Float] {
        var values = [Float](repeating: 0, count: size * size)
        let n = PaddleShape.subsamples, reach = Int(radius.rounded(.up)) + 1
        var peak: Float = 0
        for dy in -reach...reach {
            for dx in -reach...reach {
                let point = PixelPoint(y: centre.y + dy, x: centre.x + dx)
                guard contains(point) else { continue }
                var hits = 0
                for sy in 0..<n {
                    for sx in 0..<n {
                        let py = Double(dy) + (Double(sy) + 0.5) / Double(n) - 0.5
                        let px = Double(dx) + (Double(sx) + 0.5) / Double(n) - 0.5
                        if py * py + px * px <= radius * radius { hits += 1 }
                    }
                }
                values[point.y * size + point.x] = Float(hits)
                peak = max(peak, Float(hits))
            }
        }
        return peak > 0 ? values.map { $0 / peak } : values
    }
}
