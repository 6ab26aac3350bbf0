import RedisClient
import Testing

/// `state.redis` URLs: one server, or a master named by Sentinel; every malformed variant is
/// refused with what is wrong, never quoting the URL.
struct RedisEndpointTests {
    @Test(arguments: [
        ("redis://127.0.0.1:6380", RedisEndpoint.direct(RedisAddress(host: "127.0.0.1", port: 6380))),
        ("redis://cache.city.internal", .direct(RedisAddress(host: "cache.city.internal", port: 6379))),
        ("redis://10.0.0.5:7000/", .direct(RedisAddress(host: "10.0.0.5", port: 7000))),
        (
            "redis+sentinel://10.0.0.1:26379,10.0.0.2:26380,s3.city.internal/citygate",
            .sentinel(
                [
                    RedisAddress(host: "10.0.0.1", port: 26379), RedisAddress(host: "10.0.0.2", port: 26380),
                    RedisAddress(host: "s3.city.internal", port: 26379),
                ], master: "citygate")
        ),
        (
            "redis+sentinel://127.0.0.1:5000/my-master_1.a",
            .sentinel([RedisAddress(host: "127.0.0.1", port: 5000)], master: "my-master_1.a")
        ),
    ])
    func validURLsParse(url: String, expected: RedisEndpoint) throws {
        #expect(try RedisEndpoint.parse(url).get() == expected)
    }

    @Test(arguments: [
        ("rediss://127.0.0.1:6379", "must be redis://"),
        ("http://127.0.0.1:6379", "must be redis://"),
        ("redis://", "must be redis://"),
        ("redis://:secret@127.0.0.1:6379", "must be redis://"),
        ("redis://127.0.0.1:6379/2", "must be redis://"),
        ("redis+sentinel://127.0.0.1:26379", "must be redis+sentinel://"),
        ("redis+sentinel://127.0.0.1:26379/", "the master name"),
        ("redis+sentinel://127.0.0.1:26379/a/b", "the master name"),
        ("redis+sentinel://127.0.0.1:26379/na me", "the master name"),
        ("redis+sentinel:///citygate", "each sentinel"),
        ("redis+sentinel://127.0.0.1:26379,/citygate", "each sentinel"),
        ("redis+sentinel://127.0.0.1:0/citygate", "each sentinel"),
        ("redis+sentinel://127.0.0.1:65536/citygate", "each sentinel"),
        ("redis+sentinel://127.0.0.1:port/citygate", "each sentinel"),
        ("redis+sentinel://user:pw@127.0.0.1/citygate", "each sentinel"),
        ("redis+sentinel://[::1]:26379/citygate", "each sentinel"),
    ])
    func malformedURLsAreRefusedWithoutQuotingThem(url: String, problem: String) {
        switch RedisEndpoint.parse(url) {
        case .success(let endpoint): Issue.record("\(url) parsed as \(endpoint)")
        case .failure(let error):
            #expect(error.description.contains(problem), "\(url): \(error.description)")
            #expect(!error.description.contains("secret") && !error.description.contains("pw@"))
        }
    }
}
