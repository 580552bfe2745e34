import Foundation

/// Reads and writes the reference's split files (`data_split_dict_<seed>.json`:
/// {"train": [ids], "val": [ids], "test": [ids]}).
public enum ReferenceSplitFile {
    public static func read(_ path: String, trajectoryCount: Int) throws -> DatasetSplits {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw IngestError("\(path): cannot read the split file")
        }
        let object: Any
        do { object = try JSONSerialization.jsonObject(with: data) } catch {
            throw IngestError("\(path): not valid JSON (\(error.localizedDescription))")
        }
        guard let dict = object as? [String: Any] else {
            throw IngestError("\(path): expected a JSON object with \"train\", \"val\" and \"test\" id lists")
        }
        func ids(_ keys: [String]) throws -> [Int] {
            guard let key = keys.first(where: { dict[$0] != nil }) else {
                throw IngestError("\(path): missing the \"\(keys[0])\" list")
            }
            guard let list = dict[key] as? [Any] else { throw IngestError("\(path): \"\(key)\" is not a list") }
            return try list.map { value in
                guard let n = value as? NSNumber, n.doubleValue == n.doubleValue.rounded() else {
                    throw IngestError("\(path): \"\(key)\" holds a non-integer id \(value)")
                }
                let id = n.intValue
                guard id >= 0 && id < trajectoryCount else {
                    throw IngestError("\(path): \"\(key)\" holds id \(id), but the dataset has trajectories 0..\(trajectoryCount - 1)")
                }
                return id
            }
        }
        let splits = DatasetSplits(train: try ids(["train"]), validation: try ids(["val", "validation"]), test: try ids(["test"]))
        var seen: [Int: String] = [:]
        for (name, list) in [("train", splits.train), ("val", splits.validation), ("test", splits.test)] {
            for id in list {
                if let other = seen[id] { throw IngestError("\(path): id \(id) appears in both \"\(other)\" and \"\(name)\"") }
                seen[id] = name
            }
        }
        return splits
    }

    /// JSON bytes in the reference's layout.
    public static func encode(_ splits: DatasetSplits) -> [UInt8] {
        func list(_ ids: [Int]) -> String { "[" + ids.map(String.init).joined(separator: ", ") + "]" }
        let text = "{\"train\": \(list(splits.train)), \"val\": \(list(splits.validation)), \"test\": \(list(splits.test))}\n"
        return Array(text.utf8)
    }
}
