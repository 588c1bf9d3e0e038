import Foundation
import TensorCore

extension PathfinderGenerator {
    /// What `write` produced.
    public struct WrittenBatch: Sendable, Equatable {
        /// The batch number (folder `imgs/<batch>`).
        public var batch: Int
        /// Its metadata file.
        public var metadataPath: String
        /// The label of each image, in order.
        public var labels: [Int]
    }

    /// Generates `count` images into LRA's layout under `root`:
    ///
    ///     root/curv_contour_length_14/imgs/<batch>/sample_<i>.png     8-bit gray PNG
    ///     root/curv_contour_length_14/metadata/<batch>.npy            one line per image
    ///
    /// Images go in batches of `imagesPerBatch` (numbered from 0; i restarts in each batch).
    /// Each metadata line is snakes2.py's record, space-separated: `imgs/<batch> sample_<i>.png
    /// <i> <label> <continuity> <contour length> <distractor length> <paddle length>
    /// <paddle thickness> <margin> <number of paddle contrasts>` — LRA's reader uses fields
    /// 0, 1 and 3. (The `.npy` name is LRA's; the content is text, which is what LRA reads.)
    /// Labels are balanced within each batch. Images of a batch are generated on `threads`
    /// threads; the output does not depend on the thread count.
    @discardableResult
    public func write(count: Int, to root: String, seed: UInt64, imagesPerBatch: Int = 1000,
                      threads: Int = Machine.usableCores(),
                      progress: (Int) -> Void = { _ in }) throws -> [WrittenBatch] {
        precondition(count >= 0 && imagesPerBatch >= 1, "PathfinderGenerator.write: bad count \(count) or batch size \(imagesPerBatch)")
        let splitRoot = (root as NSString).appendingPathComponent(settings.splitName)
        let metadataFolder = (splitRoot as NSString).appendingPathComponent("metadata")
        try FileBytes.createFolder(metadataFolder)
        var written: [WrittenBatch] = []
        var done = 0
        for batch in 0..<((count + imagesPerBatch - 1) / imagesPerBatch) {
            let batchCount = min(imagesPerBatch, count - batch * imagesPerBatch)
            let subpath = "imgs/\(batch)"
            let imageFolder = (splitRoot as NSString).appendingPathComponent(subpath)
            try FileBytes.createFolder(imageFolder)
            let batchStream = RandomStream(seed: seed).derived(UInt64(batch))
            var labelStream = batchStream.derived(UInt64.max)
            let labels = PathfinderGenerator.balancedLabels(count: batchCount, random: &labelStream)
            let samples = try generate(labels: labels, stream: batchStream, threads: threads)
            var metadata = ""
            for (index, sample) in samples.enumerated() {
                let name = "sample_\(index).png"
                let image = RasterImage(width: settings.size, height: settings.size, channels: 1, pixels: sample.pixels)
                try PNGCodec.write(image, to: (imageFolder as NSString).appendingPathComponent(name))
                metadata += "\(subpath) \(name) \(index) \(sample.label) \(settings.continuity) \(settings.contourLength) "
                    + "\(settings.distractorLength) \(settings.paddleLength) \(settings.paddleThickness) \(sample.margin) "
                    + "\(settings.paddleContrasts.count)\n"
            }
            let metadataPath = (metadataFolder as NSString).appendingPathComponent("\(batch).npy")
            try FileBytes.write(Array(metadata.utf8), to: metadataPath)
            written.append(WrittenBatch(batch: batch, metadataPath: metadataPath, labels: labels))
            done += batchCount
            progress(done)
        }
        return written
    }

    /// Image i of a batch uses `stream.derived(i)`, so threads only change the speed.
    func generate(labels: [Int], stream: RandomStream, threads: Int) throws -> [Sample] {
        try orderedParallelMap(count: labels.count, threads: threads) { index in
            var random = stream.derived(UInt64(index))
            return Result { try sample(label: labels[index], random: &random) }
        }.map { try $0.get() }
    }
}
