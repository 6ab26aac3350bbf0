// The Ningbo housing provident fund centre's account service (住房公积金), as such systems are:
// SOAP 1.1 in GBK, namespaced elements, a WS-Security UsernameToken with a password digest, and
// SOAP faults with an error code in their detail. Demo data only.
import COpenSSL
import Foundation
import HTTPCore
import HTTPServer

#if canImport(Glibc)
    import Glibc
#endif

enum ProvidentFund {
    static let namespace = "http://gjj.ningbo.example.gov.cn/ws/2026"
    /// The demo WS-Security credentials (mocks/keys/gjj-330200-ws.user / .password).
    static let username = "citygate-nb"
    static let password = "gjj-demo-password-2026"
    static let action = "http://gjj.ningbo.example.gov.cn/ws/2026/QueryAccount"

    /// The demo accounts: account number → (owner's resident id, name, balance, state).
    static let accounts: [String: (idNumber: String, name: String, balance: String, state: String)] = [
        "NB2015080100123": ("33010619900101123X", "张三", "52310.45", "1"),
        "NB2011030500077": ("330106195001011231", "李四", "1200.00", "2"),
    ]

    static func router() -> Router {
        var router = Router()
        router.get("/health") { _, _ in .json("{\"status\":\"ok\"}") }
        router.post("/gjj/AccountService") { request, _ in answer(request) }
        return router
    }

    static func answer(_ request: Request) -> Response {
        guard request.headers["soapaction"] == "\"\(action)\"" else {
            return fault("soap:Client", "SOAPAction must be \"\(action)\" (quoted)", code: "GJJ-0400")
        }
        guard (request.headers["content-type"] ?? "").lowercased().contains("charset=gbk"),
            let xml = GBK.decode(request.body)
        else { return fault("soap:Client", "请求须为 GBK 编码", code: "GJJ-0415") }
        guard xml.contains("xmlns:gjj=\"\(namespace)\""), xml.contains("<gjj:QueryAccount>") else {
            return fault("soap:Client", "未知的操作或命名空间", code: "GJJ-0404")
        }
        guard authenticated(xml) else { return fault("wsse:FailedAuthentication", "身份验证失败", code: "GJJ-0401") }
        guard value("gjj:Channel", in: xml) == "城市服务" else {
            return fault("soap:Client", "渠道名称不正确（中文须以 GBK 传输）", code: "GJJ-0422")
        }
        guard let number = value("gjj:AccountNo", in: xml), let idNumber = value("gjj:IdNumber", in: xml) else {
            return fault("soap:Client", "缺少账号或证件号码", code: "GJJ-0400")
        }
        // The owner's id must match: another citizen's account answers like a missing one.
        guard let account = accounts[number], account.idNumber == idNumber else {
            return fault("soap:Client", "账户 \(number) 不存在或与证件号码不符", code: "GJJ-1001")
        }
        let history = [("202610", "2400.00", "20261015"), ("202611", "2400.00", "20261115")]
            .map {
                "<gjj:Item><gjj:Month>\($0.0)</gjj:Month><gjj:Amount>\($0.1)</gjj:Amount><gjj:PaidOn>\($0.2)</gjj:PaidOn></gjj:Item>"
            }
            .joined()
        let body = """
            <?xml version="1.0" encoding="GBK"?>
            <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/"><soap:Body>\
            <gjj:QueryAccountResponse xmlns:gjj="\(namespace)"><gjj:Account>\
            <gjj:AccountNo>\(number)</gjj:AccountNo><gjj:Name>\(account.name)</gjj:Name>\
            <gjj:Balance>\(account.balance)</gjj:Balance><gjj:MonthlyDeposit>2400</gjj:MonthlyDeposit>\
            <gjj:State>\(account.state)</gjj:State><gjj:Frozen>\(account.state == "2" ? "Y" : "N")</gjj:Frozen>\
            <gjj:OpenDate>20150801</gjj:OpenDate><gjj:UpdateTime>20261202164533</gjj:UpdateTime>\
            </gjj:Account><gjj:History>\(history)</gjj:History></gjj:QueryAccountResponse>\
            </soap:Body></soap:Envelope>
            """
        return Response(
            status: .ok, headers: ["Content-Type": "text/xml; charset=GBK"], body: GBK.encode(body) ?? [])
    }

    /// WS-Security UsernameToken with PasswordDigest = Base64(SHA-1(nonce ‖ created ‖ password)),
    /// created within five minutes.
    static func authenticated(_ xml: String) -> Bool {
        guard value("wsse:Username", in: xml) == username,
            xml.contains("#PasswordDigest\""),
            let digest = value("wsse:Password", in: xml).flatMap({ Data(base64Encoded: $0) }),
            let nonce = value("wsse:Nonce", in: xml).flatMap({ Data(base64Encoded: $0) }),
            let created = value("wsu:Created", in: xml),
            let moment = ISO8601DateFormatter().date(from: created), abs(moment.timeIntervalSinceNow) < 300
        else { return false }
        let input = Array(nonce) + Array(created.utf8) + Array(password.utf8)
        var output = [UInt8](repeating: 0, count: 20)
        var length: UInt32 = 0
        guard EVP_Digest(input, input.count, &output, &length, EVP_sha1(), nil) == 1 else { return false }
        return Array(digest) == output
    }

    /// The text of the first `<name …>…</name>` (attributes allowed).
    static func value(_ name: String, in xml: String) -> String? {
        var search = xml.startIndex..<xml.endIndex
        while let open = xml.range(of: "<\(name)", range: search) {
            guard let next = xml[open.upperBound...].first else { return nil }
            if next == ">" || next == " ", let end = xml.range(of: ">", range: open.upperBound..<xml.endIndex),
                let close = xml.range(of: "</\(name)>", range: end.upperBound..<xml.endIndex)
            {
                return String(xml[end.upperBound..<close.lowerBound])
            }
            search = open.upperBound..<xml.endIndex
        }
        return nil
    }

    /// A SOAP 1.1 fault (HTTP 500), its faultstring in Chinese and naming what the caller sent,
    /// as real systems do: the gateway must not pass it on.
    static func fault(_ code: String, _ text: String, code detail: String) -> Response {
        let body = """
            <?xml version="1.0" encoding="GBK"?>
            <soap:Envelope xmlns:soap="http://schemas.xmlsoap.org/soap/envelope/" \
            xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"><soap:Body>\
            <soap:Fault><faultcode>\(code)</faultcode><faultstring>\(text)</faultstring>\
            <detail><gjj:Error xmlns:gjj="\(namespace)"><gjj:ErrorCode>\(detail)</gjj:ErrorCode></gjj:Error></detail>\
            </soap:Fault></soap:Body></soap:Envelope>
            """
        return Response(
            status: .internalServerError, headers: ["Content-Type": "text/xml; charset=GBK"],
            body: GBK.encode(body) ?? [])
    }
}

/// GBK through glibc's iconv (the mock's own, not the gateway's).
enum GBK {
    static func encode(_ text: String) -> [UInt8]? { convert(Array(text.utf8), from: "UTF-8", to: "GBK") }
    static func decode(_ bytes: [UInt8]) -> String? {
        convert(bytes, from: "GBK", to: "UTF-8").flatMap { String(validating: $0, as: UTF8.self) }
    }

    private static func convert(_ input: [UInt8], from source: String, to target: String) -> [UInt8]? {
        guard let descriptor = iconv_open(target, source), Int(bitPattern: descriptor) != -1 else { return nil }
        defer { iconv_close(descriptor) }
        var inBytes = input
        var output = [UInt8](repeating: 0, count: input.count * 4 + 16)
        let produced: Int? = inBytes.withUnsafeMutableBufferPointer { inBuffer in
            output.withUnsafeMutableBufferPointer { outBuffer in
                var inPointer = UnsafeMutableRawPointer(inBuffer.baseAddress)?.assumingMemoryBound(to: CChar.self)
                var inLeft = inBuffer.count
                var outPointer = UnsafeMutableRawPointer(outBuffer.baseAddress)?.assumingMemoryBound(to: CChar.self)
                var outLeft = outBuffer.count
                guard iconv(descriptor, &inPointer, &inLeft, &outPointer, &outLeft) != -1, inLeft == 0 else {
                    return nil
                }
                return outBuffer.count - outLeft
            }
        }
        return produced.map { Array(output.prefix($0)) }
    }
}
