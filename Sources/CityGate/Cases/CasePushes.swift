import Foundation

/// Builds the messages the case lifecycle pushes to the partner that submitted a case, and puts
/// them in the inbox's outbox (``InboxEvent/Kind/push``), where the delivery worker sends them
/// with event deliveries' retries, dead letters and replay.
///
/// A message's id comes from what it is about (the case and the backend's event id, or the
/// follow-up), so queueing the same message twice — a backend's retry after a crash between
/// recording its report and queueing the push — stores it once.
struct CasePushes: Sendable {
    let inbox: any EventInbox
    let worker: DeliveryWorker

    /// What queueing did.
    enum Queued: Equatable {
        /// In the outbox (now or before).
        case queued
        /// The partner has no `push` URL: it follows the case by polling the case view.
        case noEndpoint
        /// The outbox could not commit it.
        case failed
    }

    /// The message for one progress report.
    static func progress(_ entry: CaseStore.ProgressEntry, of record: CaseStore.Record) -> PushMessage {
        var data = caseData(record)
        data["stage"] = .string(entry.stage.rawValue)
        data["stageZh"] = .string(entry.stage.zh)
        data["at"] = .string(PushClock.rfc3339(entry.at))
        data["sequence"] = .integer(entry.sequence)
        if let note = entry.note { data["note"] = .string(note) }
        if entry.stage == .finished {
            // 好差评: the invitation travels with 办结.
            data["ratingInvitation"] = .object([
                "url": .string("/v1/cities/\(record.city)/cases/\(record.number)/rating"),
                "levels": .array(
                    RatingLevel.allCases.map { .object(["level": .string($0.slug), "zh": .string($0.zh)]) }),
            ])
        }
        return PushMessage(
            id: PartnerPusher.messageId(["case.progress", record.city, record.number, entry.eventId]),
            type: "case.progress", subject: record.subject, data: data)
    }

    /// The message telling the applicant how the department followed up their poor rating.
    static func followUpClosed(_ followUp: CaseStore.FollowUp, of record: CaseStore.Record) -> PushMessage {
        var data = caseData(record)
        data["followUp"] = .object([
            "id": .integer(followUp.id), "note": .string(followUp.note ?? ""),
            "closedAt": .string(PushClock.rfc3339(followUp.closedAt ?? 0)),
        ])
        return PushMessage(
            id: PartnerPusher.messageId(["case.followup.closed", record.city, record.number, "\(followUp.id)"]),
            type: "case.followup.closed", subject: record.subject, data: data)
    }

    private static func caseData(_ record: CaseStore.Record) -> [String: JSONValue] {
        var data: [String: JSONValue] = [
            "city": .string(record.city), "caseNumber": .string(record.number), "service": .string(record.service),
            "deadlines": .object([
                "countsFrom": .string(record.deadlines.countsFrom.description),
                "promisedBy": .string(record.deadlines.promisedBy.description),
                "legalBy": .string(record.deadlines.legalBy.description),
            ]),
        ]
        if let stage = record.stage {
            data["current"] = .string(stage.rawValue)
            data["currentZh"] = .string(stage.zh)
        }
        return data
    }

    /// Queues `message` for the partner that submitted `record`'s case; returns once committed.
    func queue(_ message: PushMessage, for record: CaseStore.Record, snapshot: ConfigurationSnapshot, raw: [UInt8])
        async -> Queued
    {
        guard snapshot.manifests.partners[record.partner]?.push != nil else { return .noEndpoint }
        let appended = await inbox.append(
            Inbox.NewEvent(
                partnerId: record.partner, eventKey: "push:" + message.id, eventType: message.type, rawRequest: raw,
                payload: PartnerPusher.payload(message), city: record.city, service: record.service, operation: nil,
                // One case's pushes go out one at a time, in the order they were queued.
                orderingKey: "case:\(record.city)/\(record.number)", kind: .push))
        switch appended {
        case .success:
            worker.wake()
            return .queued
        case .failure:
            return .failed
        }
    }
}
