import Foundation

/// A file error in a few words ("no space left on device", "permission denied"), never a Foundation
/// dump: the sandbox's own messages and the commands' (`--history`, report folders) share it.
package func fileErrorCause(_ error: any Error) -> String {
    let nsError = error as NSError
    if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
        return String(cString: strerror(Int32(underlying.code))).lowercased()
    }
    if nsError.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(nsError.code))).lowercased() }
    return nsError.localizedFailureReason ?? nsError.localizedDescription
}
