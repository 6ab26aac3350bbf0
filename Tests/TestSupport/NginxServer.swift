import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// A real nginx in the foreground, for tests that need a third-party backend (HTTP/2, TLS).
public final class NginxServer {
    private let process = Process()

    /// Writes `directory/nginx.conf` around `server` (one or more `server { }` blocks inside
    /// `http { }`, no access log) and starts nginx on it. `directory` must exist; it also holds
    /// the pid file and the error log.
    public init(directory: String, server: String) throws {
        let configuration = """
            daemon off;
            master_process off;
            user root;
            pid \(directory)/nginx.pid;
            error_log \(directory)/nginx-error.log;
            events { worker_connections 64; }
            http {
                access_log off;
                \(server)
            }
            """
        try configuration.write(toFile: "\(directory)/nginx.conf", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: ExternalProcess.which("nginx") ?? "/usr/sbin/nginx")
        process.arguments = ["-c", "\(directory)/nginx.conf", "-p", directory]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Kills nginx and waits for it to end.
    public func stop() {
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}
