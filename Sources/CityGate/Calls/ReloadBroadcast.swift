import Foundation
import Logging
import RedisClient
import Synchronization

/// Every instance reloads when one is told to (`POST /admin/reload`, SIGHUP): the told instance,
/// once its own reload succeeded, increments a generation in Redis; each instance reads it every
/// second and reloads its manifests directory when it moved.
///
/// ```
///   A: reload ok ─► INCR citygate:reload (→ 7, A remembers 7)
///   B, C: every 1 s GET citygate:reload ─ 7 > 6 ─► reload(trigger: "cluster")
/// ```
///
/// The notification carries nothing but "reload": each instance reads its own copy of the tree
/// (distributing the files is the city's deployment's job), validates it, and keeps its running
/// set if its copy is invalid — the same all-or-nothing rule as a local reload. Polling rather
/// than pub/sub: a notification sent while an instance was disconnected is not lost, it is seen
/// at the next read.
final class ReloadBroadcast: Sendable {
    static let key = "citygate:reload"
    /// How often the generation is read.
    static let interval: Duration = .seconds(1)

    private let redis: RedisClient
    private let reload: @Sendable () async -> Void
    private let seen = Mutex<Int64?>(nil)
    private let task = Mutex<Task<Void, Never>?>(nil)

    /// `reload` reloads this instance (with the trigger `cluster`, which does not announce).
    init(redis: RedisClient, reload: @escaping @Sendable () async -> Void) {
        self.redis = redis
        self.reload = reload
    }

    /// Starts reading the generation.
    func start() {
        let started = Task { [self] in
            while !Task.isCancelled {
                await check()
                try? await Task.sleep(for: Self.interval)
            }
        }
        task.withLock { $0 = started }
    }

    /// Stops reading.
    func stop() {
        task.withLock { task in
            task?.cancel()
            task = nil
        }
    }

    /// Reads the generation; reloads when another instance moved it.
    func check() async {
        guard let reply = try? await redis.command("GET", Self.key) else { return }
        let generation: Int64
        switch reply {
        case .string(let bytes): generation = Int64(String(decoding: bytes, as: UTF8.self)) ?? 0
        case .null: generation = 0
        default: return
        }
        let moved = seen.withLock { seen -> Bool in
            defer { seen = max(seen ?? generation, generation) }
            // The first read only learns where the cluster is.
            guard let last = seen else { return false }
            return generation > last
        }
        if moved {
            Log.info("reloading: another instance reloaded", ["generation": "\(generation)"])
            await reload()
        }
    }

    /// Tells the other instances to reload (after this one did).
    func announce() async {
        do {
            let reply = try await redis.command("INCR", Self.key)
            if case .integer(let generation) = reply {
                seen.withLock { $0 = max($0 ?? generation, generation) }
            }
        } catch {
            // The others keep their set until told again or reloaded by hand; said in the log.
            Log.error("reload not announced to the other instances", ["error": "\(error)"])
        }
    }
}
