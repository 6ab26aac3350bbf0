import Foundation
import Store
import TestSupport
import Testing

@testable import CityGate

/// Expired replay records leave gateway.db (in chunks), and the periodic rounds run the jobs.
@Suite struct HousekeepingTests {
    @Test
    func expiredReplayRecordsArePurgedInChunksAndLiveOnesStay() throws {
        let store = try ReplayStore(database: try Database(path: try ReplayStoreTests.temporaryDatabasePath()))
        for index in 0..<12 { _ = try store.recordFirstUse(scope: "p", key: "old\(index)", now: 1000, lifetime: 10) }
        for index in 0..<3 { _ = try store.recordFirstUse(scope: "p", key: "live\(index)", now: 1000, lifetime: 600) }
        #expect(try store.purgeExpired(now: 1100, chunk: 5) == 12, "three chunks: 5, 5, 2")
        #expect(try store.purgeExpired(now: 1100, chunk: 5) == 0)
        for index in 0..<3 {
            #expect(try !store.recordFirstUse(scope: "p", key: "live\(index)", now: 1100, lifetime: 600))
        }
    }

    @Test
    func roundsRunEveryJobAndAFailingJobDoesNotStopTheOthers() async throws {
        let path = try ReplayStoreTests.temporaryDatabasePath()
        let store = try ReplayStore(database: try Database(path: path))
        _ = try store.recordFirstUse(scope: "p", key: "old", now: 1000, lifetime: 10)
        let observer = try Database(path: path)
        func rows() throws -> Int {
            Int(
                try observer.withConnection { session throws(SQLiteError) in
                    try session.query("SELECT (SELECT count(*) FROM replay) + (SELECT count(*) FROM replay_log)") {
                        $0.integer(0)
                    }.first ?? -1
                })
        }
        #expect(try rows() == 1)
        struct Broken: Error {}
        let housekeeping = Housekeeping(
            interval: .milliseconds(20),
            jobs: [
                Housekeeping.Job(name: "broken") { _ in throw Broken() },
                Housekeeping.Job(name: "replay records") { now in try store.purgeExpired(now: now) },
            ],
            clock: { 2000 })
        housekeeping.start()
        defer { housekeeping.stop() }
        // The first round runs at once, the broken job first.
        var remaining = 1
        for _ in 0..<200 where remaining > 0 {
            try await Task.sleep(for: .milliseconds(10))
            remaining = try rows()
        }
        #expect(remaining == 0, "the expired record left gateway.db")
    }
}

/// The running gateway cleans gateway.db: expired rows written before it started are gone
/// after its first housekeeping round, live ones stay.
@Suite struct GatewayHousekeepingTests {
    @Test
    func theFirstRoundAtStartDeletesExpiredRowsAndKeepsLiveOnes() async throws {
        let data = FileManager.default.temporaryDirectory.appendingPathComponent("citygate-data-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: data, withIntermediateDirectories: true)
        let path = data.appendingPathComponent("gateway.db").path
        let now = Int64(Date().timeIntervalSince1970)
        do {
            let store = try ReplayStore(database: try Database(path: path))
            _ = try store.recordFirstUse(scope: "p", key: "old-window", now: 1000, lifetime: 600)
            _ = try store.recordFirstUse(scope: "p", key: "old-table", now: 1000, lifetime: 48 * 3600)
            _ = try store.recordFirstUse(scope: "p", key: "live", now: now, lifetime: 600)
        }
        let gateway = try GatewayProcess.start(data: data.path)
        let purged = await eventually {
            gateway.output().contains("\"msg\":\"housekeeping\"") && gateway.output().contains("\"removed\":\"2\"")
        }
        gateway.terminate()
        #expect(gateway.waitForExit() == 0)
        #expect(purged, "the first round logs the two expired rows it removed")
        let database = try Database(path: path)
        let left = try database.withConnection { session throws(SQLiteError) in
            try session.query("SELECT key FROM replay_log UNION ALL SELECT key FROM replay") { $0.text(0) ?? "" }
        }
        #expect(left == ["live"])
    }
}
