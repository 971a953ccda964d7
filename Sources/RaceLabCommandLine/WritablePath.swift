import Foundation

/// Checks, before any work, that what a command will write can be written: one line naming the
/// option, the path and the cause ("is a directory", "not a folder", "permission denied").
package enum WritablePath {
    /// A file to create or replace (`--store`, `--history`): its folder must exist and take new files,
    /// and the path must not be a directory.
    package static func problemWithFile(_ path: String, option: String) -> String? {
        guard !path.isEmpty else { return "\(option): expected a file path, got ''" }
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), isDirectory.boolValue {
            return "\(option): \(path) is a directory; name a file"
        }
        let folder = URL(fileURLWithPath: path).deletingLastPathComponent().path
        guard FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) else {
            return "\(option): folder \(folder) does not exist"
        }
        guard isDirectory.boolValue else { return "\(option): \(folder) is not a folder" }
        return probe(folder).map { "\(option): cannot write in \(folder) (\($0))" }
    }

    /// A folder to create if needed and fill (`--output`): it must be a folder that takes new files,
    /// or not exist yet under one that does.
    package static func problemWithFolder(_ path: String, option: String) -> String? {
        guard !path.isEmpty else { return "\(option): expected a folder path, got ''" }
        var existing = URL(fileURLWithPath: path).standardizedFileURL
        var isDirectory: ObjCBool = false
        while !FileManager.default.fileExists(atPath: existing.path, isDirectory: &isDirectory) {
            let parent = existing.deletingLastPathComponent()
            if parent.path == existing.path { break }
            existing = parent
        }
        guard isDirectory.boolValue else {
            return "\(option): \(existing.path) is not a folder"
                + (existing.path == URL(fileURLWithPath: path).standardizedFileURL.path ? "" : " (in \(path))")
        }
        return probe(existing.path).map { "\(option): cannot write in \(existing.path) (\($0))" }
    }

    /// Why a new file cannot be made in `folder` (asked by making one and removing it); nil when it can.
    private static func probe(_ folder: String) -> String? {
        let probe = folder + "/.racelab-write-check-\(getpid())"
        let descriptor = open(probe, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0o600)
        guard descriptor >= 0 else { return String(cString: strerror(errno)).lowercased() }
        close(descriptor)
        unlink(probe)
        return nil
    }
}
