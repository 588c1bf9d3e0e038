import Foundation
import TensorCore

/// Pathfinder and Path-X images after `snakes2.py` (github.com/drewlinsley/pathfinder).
///
/// Per image: draw a paddle margin; seed two target contours `seedDistance` apart and grow
/// them paddle by paddle (`contourLength` each): the next paddle's end is drawn from the
/// circle of radius length + margin around a pivot one paddle ahead, weighted by free space
/// and by cos²(min(turn · continuity, π/2)) — bounded turning — and accepted only if its mask
/// does not overlap earlier paddles. Then add distractor contours of `distractorLength`
/// paddles, and two circular markers: the first at the start of a random target contour,
/// the second at the end of the same contour (label 1) or of the other one (label 0).
/// Strokes and markers are antialiased by supersampling; the image is scaled to bytes with
/// its maximum at 255.
///
/// Differences from snakes2.py, all deliberate: labels are exactly balanced per batch
/// (half positive, shuffled) instead of drawn independently; random numbers come from
/// `RandomStream(seed:).derived(batch, image)`, so each image is reproducible alone and
/// batches generate in parallel; antialiasing is 4×4 supersampling instead of PIL drawing
/// plus Lanczos resizing; both target contours' last paddles are added to the mask (the
/// script adds only the second's); seeds are bounds-checked at the tail as well.
public struct PathfinderGenerator: Sendable {
    /// Image size, paddles, markers and distractors.
    public let settings: PathfinderSettings

    public init(settings: PathfinderSettings) {
        self.settings = settings
    }

    /// One paddle: drawn from `start` along `orientation` (radians, y down) for the paddle length.
    public struct Paddle: Sendable, Equatable {
        /// The pixel the stroke starts at (for a contour's first paddle its origin, for the
        /// others the far end reached when growing).
        public var start: PixelPoint
        /// Direction of the stroke from `start`, radians, y down.
        public var orientation: Double
    }

    /// A contour as drawn, paddle by paddle.
    public struct Contour: Sendable, Equatable {
        public var paddles: [Paddle]
        /// True for the two target contours (which the markers sit on), false for distractors.
        public var isTarget: Bool
        /// The free end of the first paddle (where growth began).
        public var origin: PixelPoint { paddles[0].start }
        /// The free end of the last paddle (where growth stopped).
        public var terminal: PixelPoint { paddles[paddles.count - 1].start }
    }

    /// A generated image with the generator's bookkeeping.
    public struct Sample: Sendable, Equatable {
        /// Gray pixels, `size × size`, row-major.
        public var pixels: [UInt8]
        /// 1 if both markers are on the same contour, else 0.
        public var label: Int
        /// Target contours first (indices 0 and 1), then the distractors that were placed.
        public var contours: [Contour]
        /// Marker centres: the first at a contour's origin, the second at a contour's terminal end.
        public var markers: [PixelPoint]
        /// For each marker, the index in `contours` of the contour it marks.
        public var markerContours: [Int]
        /// The paddle margin drawn for this image.
        public var margin: Int
    }

    /// Failure to place the target contours after many attempts (settings that do not fit the image).
    public struct PlacementFailure: Error, CustomStringConvertible {
        public let description: String
    }

    /// Attempts at growing both target contours before giving up. At 64 and 128 pixels most
    /// attempts run into a wall (14 nearly straight paddles are longer than the image), as in
    /// snakes2.py, which retries without limit; a limit turns impossible settings into an error.
    public static let maxAttempts = 50_000

    /// Exactly balanced labels for `count` images: ⌈count/2⌉ ones and ⌊count/2⌋ zeros, shuffled.
    public static func balancedLabels(count: Int, random: inout RandomStream) -> [Int] {
        random.permutation(count).map { $0 < (count + 1) / 2 ? 1 : 0 }
    }

    /// Generates one image with the given label.
    public func sample(label: Int, random: inout RandomStream) throws -> Sample {
        let margin = settings.paddleMargins.count > 1
            ? settings.paddleMargins[random.integer(below: settings.paddleMargins.count)] : settings.paddleMargins[0]
        let shapes = PaddleShapeCache(length: settings.paddleLength, thickness: settings.paddleThickness)
        for _ in 0..<PathfinderGenerator.maxAttempts {
            var canvas = PaddleCanvas(size: settings.size, padding: settings.padding, shapes: shapes)
            guard let targets = growTargets(&canvas, margin: margin, random: &random) else { continue }
            var contours = targets.map { Contour(paddles: $0.paddles, isTarget: true) }
            for _ in 0..<settings.distractorCount {
                if let distractor = growDistractor(&canvas, margin: margin, random: &random) {
                    contours.append(Contour(paddles: distractor.paddles, isTarget: false))
                }
            }
            let first = random.integer(below: 2)
            let second = label == 1 ? first : 1 - first
            let markers = [contours[first].origin, contours[second].terminal]
            let discs = markers.map { canvas.disc(at: $0, radius: settings.markerRadius) }
            let overlay = zip(discs[0], discs[1]).map { max($0, $1) }
            return Sample(pixels: canvas.bytes(with: overlay), label: label, contours: contours,
                          markers: markers, markerContours: [first, second], margin: margin)
        }
        throw PlacementFailure(description: "could not place two target contours in \(settings.size)×\(settings.size) after \(PathfinderGenerator.maxAttempts) attempts")
    }

    // MARK: - Contour growth

    /// A contour being grown: its paddles, the pivot one step ahead, and the last paddle's
    /// mask (added to the canvas mask one step late, so consecutive paddles may touch).
    struct Growth {
        var paddles: [Paddle]
        var pivot: PixelPoint
        var orientation: Double
        var pendingMask: (shape: PaddleShape, start: PixelPoint)
    }

    /// A random orientation in whole degrees in [−180°, 180°), and its reverse.
    private func drawOrientation(_ random: inout RandomStream) -> (Double, Double) {
        let orientation = Double(random.integer(below: 360) - 180) * Double.pi / 180
        return (orientation, orientation < 0 ? orientation + Double.pi : orientation - Double.pi)
    }

    /// Seeds a contour at a free position (`border` pixels from the edge), or at `near` + `seedDistance`.
    private func seed(_ canvas: inout PaddleCanvas, margin: Int, border: Int, near: PixelPoint?, contrast: Double,
                      random: inout RandomStream) -> Growth? {
        let length = Double(settings.paddleLength)
        for _ in 0...settings.maxPaddleRetrial {
            let (orientation, reversed) = drawOrientation(&random)
            let paddle = canvas.shapes.shape(orientation, margin: margin)
            let tail: PixelPoint
            if let near {
                let angle = Double(random.integer(below: 360)) * Double.pi / 180
                let distance = Double(settings.seedDistance)
                tail = PixelPoint(y: Int((Double(near.y) + distance * sin(angle)).rounded(.toNearestOrEven)),
                                  x: Int((Double(near.x) + distance * cos(angle)).rounded(.toNearestOrEven)))
            } else {
                let positions = canvas.seedPositions(solid: paddle.solidOffsets, border: border)
                guard !positions.isEmpty else { return nil }
                tail = positions[random.integer(below: positions.count)]
            }
            let head = tail.translated(orientation, length)
            let pivot = head.translated(reversed, length + Double(margin))
            guard canvas.contains(tail) && canvas.contains(head) && canvas.contains(pivot) else { continue }
            canvas.draw(paddle, at: tail, contrast: Float(contrast))
            return Growth(paddles: [Paddle(start: tail, orientation: orientation)], pivot: pivot,
                          orientation: orientation, pendingMask: (paddle, tail))
        }
        return nil
    }

    /// Adds one paddle to `growth` (snakes2.py's `extend_snake`); false at a dead end or overlap.
    private func extend(_ growth: inout Growth, _ canvas: inout PaddleCanvas, margin: Int, contrast: Double,
                        random: inout RandomStream) -> Bool {
        let length = settings.paddleLength
        let pivot = growth.pivot.translated(growth.orientation, Double(length + 2 * margin))
        let candidates = endpointCandidates(around: pivot, radius: Double(length + margin), canvas: canvas,
                                            margin: margin, previous: growth.orientation)
        guard let cumulative = candidates.cumulative else { return false }
        for _ in 0...settings.maxPaddleRetrial {
            let draw = Double(random.uniform())
            let index = cumulative.firstIndex { $0 > draw } ?? 0
            let head = candidates.points[index], orientation = candidates.orientations[index]
            let flipped = orientation < 0 ? orientation + Double.pi : orientation - Double.pi
            let paddle = canvas.shapes.shape(flipped, margin: margin)
            guard canvas.largestOverlap(paddle, at: head) < 1.8 else { continue }
            canvas.draw(paddle, at: head, contrast: Float(contrast))
            canvas.occupy(growth.pendingMask.shape, at: growth.pendingMask.start)
            growth.pendingMask = (paddle, head)
            growth.paddles.append(Paddle(start: head, orientation: flipped))
            growth.pivot = pivot
            growth.orientation = orientation
            return true
        }
        return false
    }

    /// snakes2.py's `get_coords_cmf`: the pixels on a circle around `pivot` (one sample per
    /// pixel of arc), each weighted by its free space and by how little it turns.
    private func endpointCandidates(around pivot: PixelPoint, radius: Double, canvas: PaddleCanvas, margin: Int,
                                    previous: Double) -> (points: [PixelPoint], orientations: [Double], cumulative: [Double]?) {
        let step = 360 / (2 * radius * Double.pi)
        var unique = Set<PixelPoint>()
        var angle = 0.0
        while angle < 360 {
            let radians = angle * Double.pi / 180
            let y = Double(pivot.y) + radius * sin(radians), x = Double(pivot.x) + radius * cos(radians)
            if y >= 0 && x >= 0 && y < Double(canvas.size) && x < Double(canvas.size) {
                unique.insert(PixelPoint(y: Int(y), x: Int(x)))
            }
            angle += step
        }
        let points = unique.sorted()
        var orientations: [Double] = [], weights: [Double] = []
        for point in points {
            let orientation = atan2(Double(point.y - pivot.y), Double(point.x - pivot.x))
            let turn = abs(orientation - previous)
            let bounded = min(min(turn, 2 * Double.pi - turn) * settings.continuity, Double.pi / 2)
            let straightness = pow(max(cos(bounded), 0), 2)
            orientations.append(orientation)
            weights.append(Double(1 - canvas.dilatedMask(at: point, radius: margin)) * straightness)
        }
        let total = weights.reduce(0, +)
        guard total >= 1e-4 else { return (points, orientations, nil) }
        var running = 0.0
        return (points, orientations, weights.map { running += $0 / total; return running })
    }

    /// Seeds and grows the two target contours together (snakes2.py's `two_snakes`).
    private func growTargets(_ canvas: inout PaddleCanvas, margin: Int, random: inout RandomStream) -> [Growth]? {
        var levels = settings.snakeContrasts + settings.snakeContrasts
        levels = random.permutation(levels.count).map { levels[$0] }
        let firstContrast = paddleContrast(&random) * levels[0]
        guard let first = seed(&canvas, margin: margin, border: 2 * settings.seedDistance, near: nil,
                               contrast: firstContrast, random: &random) else { return nil }
        let secondContrast = paddleContrast(&random) * levels[1]
        guard let second = seed(&canvas, margin: margin, border: 0, near: first.paddles[0].start,
                                contrast: secondContrast, random: &random) else { return nil }
        var growths = [first, second]
        for _ in 1..<settings.contourLength {
            let contrast = paddleContrast(&random)
            for index in 0..<2 {
                guard extend(&growths[index], &canvas, margin: margin, contrast: contrast * levels[index], random: &random) else {
                    return nil
                }
            }
        }
        for growth in growths { canvas.occupy(growth.pendingMask.shape, at: growth.pendingMask.start) }
        return growths
    }

    /// One distractor (snakes2.py's `make_snake` inside `make_many_snakes`), retried a few
    /// times; the canvas is unchanged when every try fails.
    private func growDistractor(_ canvas: inout PaddleCanvas, margin: Int, random: inout RandomStream) -> Growth? {
        for _ in 0...settings.maxDistractorRetrial {
            var attempt = canvas
            guard attempt.freeFraction >= 0.01,
                  var growth = seed(&attempt, margin: margin, border: 1, near: nil, contrast: snakeContrast(&random), random: &random)
            else { continue }
            var complete = true
            for _ in 1..<settings.distractorLength where complete {
                complete = extend(&growth, &attempt, margin: margin, contrast: snakeContrast(&random), random: &random)
            }
            guard complete else { continue }
            attempt.occupy(growth.pendingMask.shape, at: growth.pendingMask.start)
            canvas = attempt
            return growth
        }
        return nil
    }

    private func paddleContrast(_ random: inout RandomStream) -> Double {
        let choices = settings.paddleContrasts
        return choices.count > 1 ? choices[random.integer(below: choices.count)] : choices[0]
    }

    private func snakeContrast(_ random: inout RandomStream) -> Double {
        let choices = settings.snakeContrasts
        return choices.count > 1 ? choices[random.integer(below: choices.count)] : choices[0]
    }
}
