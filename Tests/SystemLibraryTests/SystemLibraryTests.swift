import CCurl
import COpenSSL
import CSQLite
import CSystemLinux
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Each wrapped C library links and answers its version function.
struct SystemLibraryTests {
    @Test
    func curlIsLinkedWithOpenSSL() throws {
        let version = String(cString: try #require(curl_version()))
        #expect(version.hasPrefix("libcurl/"))
        #expect(version.contains("OpenSSL"))
    }

    @Test
    func openSSLIsVersion3() throws {
        let version = String(cString: try #require(OpenSSL_version(OPENSSL_VERSION)))
        #expect(version.hasPrefix("OpenSSL 3."))
        #expect(OPENSSL_version_major() == 3)
    }

    @Test
    func sqliteIsLinkedAndThreadSafe() throws {
        let version = String(cString: try #require(sqlite3_libversion()))
        #expect(version.hasPrefix("3."))
        #expect(sqlite3_threadsafe() != 0)
    }

    @Test
    func linuxShimCreatesEpollAndEventfd() {
        let epoll = citygate_epoll_create()
        let event = citygate_eventfd()
        #expect(epoll >= 0)
        #expect(event >= 0)
        #expect(citygate_epoll_add(epoll, event, citygate_epollin, 7) == 0)
        var one: UInt64 = 1
        #expect(write(event, &one, 8) == 8)
        var events = [citygate_epoll_event](repeating: citygate_epoll_event(), count: 4)
        let count = events.withUnsafeMutableBufferPointer { citygate_epoll_wait(epoll, $0.baseAddress, 4, 1000) }
        #expect(count == 1)
        #expect(events[0].data == 7)
        close(event)
        close(epoll)
    }
}
