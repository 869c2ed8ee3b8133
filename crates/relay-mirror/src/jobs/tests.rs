use super::*;
use crate::render::{Poster, Rendered};
use proptest::prelude::*;
use std::collections::BTreeMap;

const T0: i64 = 1_764_547_200_000; // 2025-12-01T00:00:00Z

fn mid(n: u64) -> MessageId {
    MessageId::parse(&(1_000 + n).to_string()).unwrap()
}

fn att(n: u64) -> AttachmentId {
    AttachmentId::parse(&n.to_string()).unwrap()
}

fn hook() -> PosterId {
    PosterId::Webhook(WebhookId::parse("77").unwrap())
}

fn rendered(parts: &[(&str, &[u64])]) -> Rendered {
    Rendered {
        poster: Poster::Webhook,
        username: "Ana".into(),
        avatar_url: None,
        parts: parts
            .iter()
            .map(|(c, a)| Part {
                content: c.to_string(),
                embeds: vec![],
                attachments: a.iter().map(|n| att(*n)).collect(),
            })
            .collect(),
        role_ping_id: None,
        dropped_attachments: vec![],
    }
}

/// A channel as Discord keeps it: our webhook's messages, live or deleted.
#[derive(Default, Debug)]
struct Channel {
    seq: u64,
    msgs: BTreeMap<u64, Msg>,
    posts: usize,
    edits: usize,
    uploads: usize,
}

#[derive(Debug, Clone)]
struct Msg {
    content: String,
    live: bool,
    files: Vec<AttachmentId>,
}

impl Channel {
    fn id_at(&mut self, now: i64) -> u64 {
        self.seq += 1;
        (((now as u64) - DISCORD_EPOCH_MS) << 22) | (self.seq & 0x3F_FFFF)
    }

    fn apply(&mut self, step: &Step, r: Option<&Rendered>, now: i64) -> SendResult {
        match step {
            Step::Post { part, upload } => {
                let id = self.id_at(now);
                let files: Vec<AttachmentId> =
                    upload.iter().map(|_| att(self.id_at(now))).collect();
                self.posts += 1;
                self.uploads += upload.len();
                self.msgs.insert(
                    id,
                    Msg {
                        content: r.unwrap().parts[*part].content.clone(),
                        live: true,
                        files: files.clone(),
                    },
                );
                SendResult::Posted {
                    message_id: MessageId::parse(&id.to_string()).unwrap(),
                    uploaded: files,
                }
            }
            Step::Edit {
                part,
                message_id,
                keep,
                upload,
            } => {
                let new: Vec<AttachmentId> = upload.iter().map(|_| att(self.id_at(now))).collect();
                let m = self
                    .msgs
                    .get_mut(&message_id.value())
                    .expect("edit of a message we posted");
                assert!(m.live, "edit of a deleted message");
                for k in keep {
                    assert!(m.files.contains(k), "keeps a file the message has");
                }
                m.content = r.unwrap().parts[*part].content.clone();
                m.files = keep.iter().cloned().chain(new.iter().cloned()).collect();
                self.edits += 1;
                self.uploads += upload.len();
                SendResult::Edited { uploaded: new }
            }
            Step::Delete { message_id, .. } => match self.msgs.get_mut(&message_id.value()) {
                Some(m) if m.live => {
                    m.live = false;
                    SendResult::Deleted
                }
                _ => SendResult::Permanent {
                    error_code: "discord_unknown_message".into(),
                    reason: "Unknown Message".into(),
                    discord_code: Some(UNKNOWN_MESSAGE),
                },
            },
        }
    }

    fn list(&self, after: &MessageId) -> Vec<Candidate> {
        self.msgs
            .iter()
            .filter(|(id, m)| **id > after.value() && m.live)
            .map(|(id, m)| Candidate {
                id: MessageId::parse(&id.to_string()).unwrap(),
                webhook_id: Some(WebhookId::parse("77").unwrap()),
                author_id: None,
                author_username: Some("Ana".into()),
                content: m.content.clone(),
                card_text: None,
                attachment_ids: m.files.clone(),
            })
            .collect()
    }

    fn live(&self) -> Vec<&str> {
        self.msgs
            .values()
            .filter(|m| m.live)
            .map(|m| m.content.as_str())
            .collect()
    }
}

/// Runs claimable jobs to completion with every call succeeding.
fn drain(
    q: &mut TargetQueue,
    ch: &mut Channel,
    desired: &dyn Fn(&MessageId) -> Option<Rendered>,
    now: i64,
) {
    for _ in 0..1_000 {
        let Some(claim) = q.claim(now, LEASE_MS) else {
            return;
        };
        loop {
            let r = desired(&claim.message_id);
            let d = r.as_ref().map(Desired::Parts).unwrap_or(Desired::Absent);
            match q.plan(&claim, d, &hook(), now).unwrap() {
                Action::Finished(_) => break,
                Action::Lookup(l) => {
                    let after = l
                        .after_id
                        .clone()
                        .unwrap_or_else(|| snowflake_at(l.after_ms));
                    q.report_lookup(&claim, &ch.list(&after), true, now)
                        .unwrap();
                }
                Action::Send(s) => {
                    let res = ch.apply(&s.step, r.as_ref(), now);
                    assert_eq!(q.report(&claim, res, now, 0.5).unwrap(), Next::Continue);
                }
            }
        }
    }
    panic!("the queue does not drain");
}

#[test]
fn create_then_edit_patches_in_place_without_resending_files() {
    let mut q = TargetQueue::new();
    let mut ch = Channel::default();
    let m = mid(1);
    assert_eq!(q.enqueue(&m, ChangeKind::Create, T0), Enqueued::New(1));
    let v1 = rendered(&[("BTC long", &[9])]);
    drain(&mut q, &mut ch, &|_| Some(v1.clone()), T0);
    assert_eq!(ch.live(), vec!["BTC long"]);
    let first_id = q.map.mirrored(&m, 0).unwrap().clone();
    assert!(matches!(
        q.enqueue(&m, ChangeKind::Edit, T0 + 1),
        Enqueued::New(_)
    ));
    let claim = q.claim(T0 + 1, LEASE_MS).unwrap();
    let v2 = rendered(&[("BTC long, TP 45000", &[9])]);
    let Action::Send(s) = q
        .plan(&claim, Desired::Parts(&v2), &hook(), T0 + 1)
        .unwrap()
    else {
        panic!("an edit")
    };
    let Step::Edit {
        message_id,
        keep,
        upload,
        ..
    } = &s.step
    else {
        panic!("{s:?}")
    };
    assert_eq!(message_id, &first_id, "the same message is patched");
    assert_eq!(keep.len(), 1, "the uploaded file is kept");
    assert!(upload.is_empty(), "and not uploaded again");
    assert_eq!(
        serde_json::to_value(s.allowed_mentions.as_ref().unwrap()).unwrap(),
        serde_json::json!({"parse": []})
    );
    let res = ch.apply(&s.step, Some(&v2), T0 + 1);
    q.report(&claim, res, T0 + 1, 0.0).unwrap();
    assert_eq!(
        q.plan(&claim, Desired::Parts(&v2), &hook(), T0 + 1)
            .unwrap(),
        Action::Finished(Finished::Synced)
    );
    assert_eq!((ch.posts, ch.edits, ch.uploads), (1, 1, 1));
    assert_eq!(ch.live(), vec!["BTC long, TP 45000"]);
    // An edit that changes nothing visible for this target makes no call.
    q.enqueue(&m, ChangeKind::Edit, T0 + 2);
    drain(&mut q, &mut ch, &|_| Some(v2.clone()), T0 + 2);
    assert_eq!((ch.posts, ch.edits), (1, 1));
}

#[test]
fn order_follows_the_source_and_nothing_behind_the_head_is_leased() {
    let mut q = TargetQueue::new();
    q.enqueue(&mid(1), ChangeKind::Create, T0);
    q.enqueue(&mid(2), ChangeKind::Create, T0);
    let a = q.claim(T0, LEASE_MS).unwrap();
    assert_eq!(a.message_id, mid(1));
    assert_eq!(
        q.claim(T0, LEASE_MS),
        None,
        "one job at a time per target channel"
    );
    assert!(
        q.jobs[1].lease.is_none(),
        "the waiting job is not processing"
    );
    let r = rendered(&[("a", &[])]);
    let mut ch = Channel::default();
    let Action::Send(s) = q.plan(&a, Desired::Parts(&r), &hook(), T0).unwrap() else {
        panic!()
    };
    q.report(&a, ch.apply(&s.step, Some(&r), T0), T0, 0.0)
        .unwrap();
    q.plan(&a, Desired::Parts(&r), &hook(), T0).unwrap();
    assert_eq!(q.claim(T0, LEASE_MS).unwrap().message_id, mid(2));
}

#[test]
fn pending_edits_coalesce_into_the_newest() {
    let mut q = TargetQueue::new();
    let m = mid(1);
    let created = q.enqueue(&m, ChangeKind::Create, T0);
    for _ in 0..3 {
        assert_eq!(q.enqueue(&m, ChangeKind::Edit, T0), Enqueued::Coalesced(1));
    }
    assert_eq!(q.depth(), 1);
    assert_eq!(created, Enqueued::New(1));
    let mut ch = Channel::default();
    let newest = rendered(&[("v3", &[])]);
    drain(&mut q, &mut ch, &|_| Some(newest.clone()), T0);
    assert_eq!((ch.posts, ch.edits), (1, 0), "one post of the newest text");
    assert_eq!(ch.live(), vec!["v3"]);

    // Edits while an edit is in flight wait behind it as one job.
    q.enqueue(&m, ChangeKind::Edit, T0);
    let claim = q.claim(T0, LEASE_MS).unwrap();
    let e = q.enqueue(&m, ChangeKind::Edit, T0);
    assert!(
        matches!(e, Enqueued::New(_)),
        "the running job cannot absorb it"
    );
    assert!(matches!(
        q.enqueue(&m, ChangeKind::Edit, T0),
        Enqueued::Coalesced(_)
    ));
    assert_eq!(q.depth(), 2);
    let v5 = rendered(&[("v5", &[])]);
    let Action::Send(s) = q.plan(&claim, Desired::Parts(&v5), &hook(), T0).unwrap() else {
        panic!()
    };
    q.report(&claim, ch.apply(&s.step, Some(&v5), T0), T0, 0.0)
        .unwrap();
    q.plan(&claim, Desired::Parts(&v5), &hook(), T0).unwrap();
    drain(&mut q, &mut ch, &|_| Some(v5.clone()), T0);
    assert_eq!(ch.edits, 1, "the second job found nothing left to do");
}

#[test]
fn a_delete_before_the_create_is_posted_cancels_it() {
    let mut q = TargetQueue::new();
    let m = mid(1);
    q.enqueue(&m, ChangeKind::Create, T0);
    q.enqueue(&m, ChangeKind::Edit, T0);
    assert_eq!(
        q.enqueue(&m, ChangeKind::Delete, T0),
        Enqueued::Cancelled(1)
    );
    assert_eq!(q.depth(), 0);
    assert_eq!(q.claim(T0, LEASE_MS), None, "nothing is ever posted");
    // A later edit of the deleted message is nothing either.
    assert_eq!(q.enqueue(&m, ChangeKind::Edit, T0), Enqueued::Ignored);
    assert_eq!(q.depth(), 0);
}

#[test]
fn a_delete_while_the_create_runs_stops_it_and_removes_what_it_posted() {
    let mut q = TargetQueue::new();
    let mut ch = Channel::default();
    let m = mid(1);
    q.enqueue(&m, ChangeKind::Create, T0);
    let claim = q.claim(T0, LEASE_MS).unwrap();
    let three = rendered(&[("p0", &[]), ("p1", &[]), ("p2", &[])]);
    let Action::Send(s) = q.plan(&claim, Desired::Parts(&three), &hook(), T0).unwrap() else {
        panic!()
    };
    q.report(&claim, ch.apply(&s.step, Some(&three), T0), T0, 0.0)
        .unwrap();
    // The delete arrives between two parts.
    assert!(matches!(
        q.enqueue(&m, ChangeKind::Delete, T0),
        Enqueued::New(_)
    ));
    let Action::Send(s) = q.plan(&claim, Desired::Absent, &hook(), T0).unwrap() else {
        panic!()
    };
    assert!(matches!(s.step, Step::Delete { part: 0, .. }), "{s:?}");
    q.report(&claim, ch.apply(&s.step, None, T0), T0, 0.0)
        .unwrap();
    assert_eq!(
        q.plan(&claim, Desired::Absent, &hook(), T0).unwrap(),
        Action::Finished(Finished::Removed)
    );
    drain(&mut q, &mut ch, &|_| None, T0);
    assert!(ch.live().is_empty());
    assert_eq!(ch.posts, 1, "parts 1 and 2 were never posted");
}

#[test]
fn a_delete_after_the_create_removes_every_part() {
    let mut q = TargetQueue::new();
    let mut ch = Channel::default();
    let m = mid(1);
    q.enqueue(&m, ChangeKind::Create, T0);
    let three = rendered(&[("p0", &[1]), ("p1", &[]), ("p2", &[2])]);
    drain(&mut q, &mut ch, &|_| Some(three.clone()), T0);
    assert_eq!(ch.live().len(), 3);
    assert_eq!(q.map.get(&m).unwrap().parts.len(), 3);
    q.enqueue(&m, ChangeKind::Delete, T0);
    drain(&mut q, &mut ch, &|_| None, T0);
    assert!(ch.live().is_empty());
    assert!(q.map.get(&m).unwrap().parts.is_empty());
    // A mirror someone already deleted counts as deleted (10008).
    q.enqueue(&mid(2), ChangeKind::Create, T0);
    drain(&mut q, &mut ch, &|_| Some(three.clone()), T0);
    for m in ch.msgs.values_mut() {
        m.live = false;
    }
    q.enqueue(&mid(2), ChangeKind::Delete, T0);
    drain(&mut q, &mut ch, &|_| None, T0);
    assert!(q.dead.is_empty());
}

#[test]
fn shrinking_and_growing_edits_delete_and_post_parts() {
    let mut q = TargetQueue::new();
    let mut ch = Channel::default();
    let m = mid(1);
    q.enqueue(&m, ChangeKind::Create, T0);
    drain(
        &mut q,
        &mut ch,
        &|_| Some(rendered(&[("a", &[]), ("b", &[]), ("c", &[])])),
        T0,
    );
    q.enqueue(&m, ChangeKind::Edit, T0);
    drain(&mut q, &mut ch, &|_| Some(rendered(&[("a2", &[])])), T0);
    assert_eq!(ch.live(), vec!["a2"]);
    q.enqueue(&m, ChangeKind::Edit, T0);
    drain(
        &mut q,
        &mut ch,
        &|_| Some(rendered(&[("a2", &[]), ("b3", &[])])),
        T0,
    );
    assert_eq!(ch.live(), vec!["a2", "b3"]);
}

#[test]
fn expired_leases_are_reclaimed_and_stale_reports_refused() {
    let mut q = TargetQueue::new();
    q.enqueue(&mid(1), ChangeKind::Create, T0);
    let old = q.claim(T0, LEASE_MS).unwrap();
    assert_eq!(q.next_wake_ms(), Some(T0 + LEASE_MS));
    assert_eq!(q.claim(T0 + LEASE_MS - 1, LEASE_MS), None);
    let new = q.claim(T0 + LEASE_MS, LEASE_MS).unwrap();
    assert_ne!(new.lease_id, old.lease_id);
    assert_eq!(q.jobs[0].reclaims, 1);
    let r = rendered(&[("a", &[])]);
    assert_eq!(
        q.plan(&old, Desired::Parts(&r), &hook(), T0 + LEASE_MS),
        Err(MirrorError::LeaseLost)
    );
    assert!(q
        .plan(&new, Desired::Parts(&r), &hook(), T0 + LEASE_MS)
        .is_ok());
    assert_eq!(
        q.report(&old, SendResult::Deleted, T0 + LEASE_MS, 0.0),
        Err(MirrorError::LeaseLost)
    );
}

#[test]
fn crash_after_send_is_recovered_by_lookup_not_by_a_second_post() {
    let mut q = TargetQueue::new();
    let mut ch = Channel::default();
    // An earlier signal with the same text, already mapped: must not be adopted.
    q.enqueue(&mid(0), ChangeKind::Create, T0);
    let same = rendered(&[("BTC long", &[])]);
    drain(&mut q, &mut ch, &|_| Some(same.clone()), T0);
    let m = mid(1);
    q.enqueue(&m, ChangeKind::Create, T0 + 10);
    let claim = q.claim(T0 + 10, LEASE_MS).unwrap();
    let Action::Send(s) = q
        .plan(&claim, Desired::Parts(&same), &hook(), T0 + 10)
        .unwrap()
    else {
        panic!()
    };
    // The attempt is on record before the call.
    let att = q.jobs[0].in_flight.clone().unwrap();
    assert_eq!(att.marker.as_ref().unwrap().content, "BTC long");
    ch.apply(&s.step, Some(&same), T0 + 10);
    // ... and the process dies before the answer is committed.
    let later = T0 + 10 + LEASE_MS;
    let claim = q.claim(later, LEASE_MS).unwrap();
    let Action::Lookup(l) = q
        .plan(&claim, Desired::Parts(&same), &hook(), later)
        .unwrap()
    else {
        panic!("recovery looks before posting")
    };
    assert_eq!(l.after_ms, T0 + 10 - LOOKUP_SKEW_MS);
    let listed = ch.list(&snowflake_at(l.after_ms));
    assert_eq!(listed.len(), 2, "both messages are recent");
    q.report_lookup(&claim, &listed, true, later).unwrap();
    assert_eq!(
        q.plan(&claim, Desired::Parts(&same), &hook(), later)
            .unwrap(),
        Action::Finished(Finished::Synced)
    );
    assert_eq!(ch.posts, 2, "no second post");
    let ids: Vec<_> = [mid(0), mid(1)]
        .iter()
        .map(|m| q.map.mirrored(m, 0).unwrap().clone())
        .collect();
    assert_ne!(ids[0], ids[1], "the mapped twin was not adopted");
}

#[test]
fn crash_before_send_posts_once_after_an_empty_lookup() {
    let mut q = TargetQueue::new();
    let mut ch = Channel::default();
    let r = rendered(&[("x", &[])]);
    q.enqueue(&mid(1), ChangeKind::Create, T0);
    let claim = q.claim(T0, LEASE_MS).unwrap();
    assert!(matches!(
        q.plan(&claim, Desired::Parts(&r), &hook(), T0).unwrap(),
        Action::Send(_)
    ));
    let later = T0 + LEASE_MS;
    let claim = q.claim(later, LEASE_MS).unwrap();
    let Action::Lookup(l) = q.plan(&claim, Desired::Parts(&r), &hook(), later).unwrap() else {
        panic!()
    };
    q.report_lookup(&claim, &ch.list(&snowflake_at(l.after_ms)), true, later)
        .unwrap();
    let Action::Send(s) = q.plan(&claim, Desired::Parts(&r), &hook(), later).unwrap() else {
        panic!()
    };
    q.report(&claim, ch.apply(&s.step, Some(&r), later), later, 0.0)
        .unwrap();
    assert_eq!(ch.posts, 1);
}

#[test]
fn an_incomplete_lookup_continues_after_the_last_message_listed() {
    let mut q = TargetQueue::new();
    let mut ch = Channel::default();
    let r = rendered(&[("mine", &[])]);
    q.enqueue(&mid(1), ChangeKind::Create, T0);
    let claim = q.claim(T0, LEASE_MS).unwrap();
    let Action::Send(s) = q.plan(&claim, Desired::Parts(&r), &hook(), T0).unwrap() else {
        panic!()
    };
    // Someone else posts in between, then ours lands.
    let other = ch.apply(
        &Step::Post {
            part: 0,
            upload: vec![],
        },
        Some(&rendered(&[("other", &[])])),
        T0,
    );
    ch.apply(&s.step, Some(&r), T0);
    let later = T0 + LEASE_MS;
    let claim = q.claim(later, LEASE_MS).unwrap();
    let Action::Lookup(l) = q.plan(&claim, Desired::Parts(&r), &hook(), later).unwrap() else {
        panic!()
    };
    let page = ch.list(&snowflake_at(l.after_ms));
    q.report_lookup(&claim, &page[..1], false, later).unwrap();
    let Action::Lookup(l2) = q.plan(&claim, Desired::Parts(&r), &hook(), later).unwrap() else {
        panic!()
    };
    let SendResult::Posted { message_id, .. } = other else {
        panic!()
    };
    assert_eq!(l2.after_id, Some(message_id.clone()));
    q.report_lookup(&claim, &ch.list(&message_id), true, later)
        .unwrap();
    assert_eq!(
        q.plan(&claim, Desired::Parts(&r), &hook(), later).unwrap(),
        Action::Finished(Finished::Synced)
    );
    assert_eq!(ch.posts, 2);
}

#[test]
fn markers_tell_our_posts_apart() {
    let marker = Marker {
        poster: hook(),
        nonce: None,
        content: "BTC".into(),
        card_text: None,
        username: Some("Ana".into()),
    };
    let mut c = Candidate {
        id: mid(1),
        webhook_id: Some(WebhookId::parse("77").unwrap()),
        author_id: None,
        author_username: Some("Ana".into()),
        content: "BTC ".into(),
        card_text: None,
        attachment_ids: vec![],
    };
    assert!(marker.matches(&c), "Discord trims what we send");
    c.author_username = Some("Bob".into());
    assert!(
        !marker.matches(&c),
        "the same text under another analyst's name"
    );
    c.author_username = Some("Ana".into());
    c.webhook_id = Some(WebhookId::parse("78").unwrap());
    assert!(!marker.matches(&c), "another webhook's message");
    let bot = Marker {
        poster: PosterId::Bot(UserId::parse("5").unwrap()),
        nonce: Some("x".into()),
        content: "".into(),
        card_text: Some("card".into()),
        username: None,
    };
    let card = Candidate {
        id: mid(2),
        webhook_id: None,
        author_id: Some(UserId::parse("5").unwrap()),
        author_username: Some("Relay Bot".into()),
        content: "".into(),
        card_text: Some("card".into()),
        attachment_ids: vec![],
    };
    assert!(bot.matches(&card));
    assert!(!bot.matches(&Candidate {
        card_text: Some("other".into()),
        ..card
    }));
}

#[test]
fn transient_failures_back_off_with_jitter_then_dead_letter() {
    let mut q = TargetQueue::new();
    let mut ch = Channel::default();
    let r = rendered(&[("x", &[])]);
    q.enqueue(&mid(1), ChangeKind::Create, T0);
    let mut now = T0;
    for n in 1..MAX_FAILURES {
        let claim = q.claim(now, LEASE_MS).unwrap();
        let a = q.plan(&claim, Desired::Parts(&r), &hook(), now).unwrap();
        if let Action::Lookup(l) = a {
            q.report_lookup(&claim, &ch.list(&snowflake_at(l.after_ms)), true, now)
                .unwrap();
            assert!(matches!(
                q.plan(&claim, Desired::Parts(&r), &hook(), now).unwrap(),
                Action::Send(_)
            ));
        }
        let next = q
            .report(
                &claim,
                SendResult::Transient {
                    reason: "502".into(),
                },
                now,
                0.25,
            )
            .unwrap();
        let want = now + backoff_ms(n, 0.25);
        assert_eq!(next, Next::RetryAt(want));
        assert!(
            q.jobs[0].in_flight.is_some(),
            "a failed post stays in doubt"
        );
        assert_eq!(
            q.claim(want - 1, LEASE_MS),
            None,
            "deferred, not processing"
        );
        assert!(q.jobs[0].lease.is_none());
        assert_eq!(q.retrying(), 1);
        now = want;
    }
    let claim = q.claim(now, LEASE_MS).unwrap();
    let Action::Lookup(l) = q.plan(&claim, Desired::Parts(&r), &hook(), now).unwrap() else {
        panic!()
    };
    q.report_lookup(&claim, &ch.list(&snowflake_at(l.after_ms)), true, now)
        .unwrap();
    q.plan(&claim, Desired::Parts(&r), &hook(), now).unwrap();
    let Next::DeadLettered(f) = q
        .report(
            &claim,
            SendResult::Transient {
                reason: "502".into(),
            },
            now,
            0.25,
        )
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(f.error_code, "retries_exhausted");
    assert_eq!(q.depth(), 0);
    // Requeued, it looks for the post in doubt first, then posts once.
    q.requeue(q.dead[0].job.id, now).unwrap();
    drain(&mut q, &mut ch, &|_| Some(r.clone()), now);
    assert_eq!(ch.posts, 1);
    assert_eq!(q.requeue(99, now), Err(MirrorError::JobNotFound(99)));
}

#[test]
fn backoff_is_bounded_and_jittered() {
    assert_eq!(backoff_ms(1, 0.0), 500);
    assert_eq!(backoff_ms(1, 0.999_999), 999);
    assert_eq!(backoff_ms(3, 0.0), 2_000);
    assert!(backoff_ms(40, 1.0) <= BACKOFF_MAX_MS);
    assert!(backoff_ms(40, 0.0) >= BACKOFF_MAX_MS / 2);
}

#[test]
fn rate_limits_reschedule_to_their_time_without_counting_as_failures() {
    let mut q = TargetQueue::new();
    let r = rendered(&[("x", &[])]);
    q.enqueue(&mid(1), ChangeKind::Create, T0);
    let claim = q.claim(T0, LEASE_MS).unwrap();
    q.plan(&claim, Desired::Parts(&r), &hook(), T0).unwrap();
    let t = T0 + 41_000;
    assert_eq!(
        q.report(&claim, SendResult::NotBefore { at_ms: t }, T0, 0.9)
            .unwrap(),
        Next::RetryAt(t)
    );
    assert_eq!(q.jobs[0].failures, 0);
    assert_eq!(q.retrying(), 0, "a rate limit is not a failure");
    assert!(
        q.jobs[0].in_flight.is_none(),
        "a refused call created nothing"
    );
    assert_eq!(q.next_wake_ms(), Some(t));
    assert_eq!(q.claim(t - 1, LEASE_MS), None);
    let claim = q.claim(t, LEASE_MS).unwrap();
    assert!(matches!(
        q.plan(&claim, Desired::Parts(&r), &hook(), t).unwrap(),
        Action::Send(_)
    ));
    let next = q
        .report(
            &claim,
            SendResult::Stopped {
                reason: "401".into(),
            },
            t,
            0.0,
        )
        .unwrap();
    assert_eq!(next, Next::RetryAt(t + STOPPED_RECHECK_MS));
}

#[test]
fn permanent_failures_dead_letter_with_code_and_do_not_block_the_queue() {
    let mut q = TargetQueue::new();
    let mut ch = Channel::default();
    let r = rendered(&[("x", &[])]);
    q.enqueue(&mid(1), ChangeKind::Create, T0);
    q.enqueue(&mid(2), ChangeKind::Create, T0);
    let claim = q.claim(T0, LEASE_MS).unwrap();
    q.plan(&claim, Desired::Parts(&r), &hook(), T0).unwrap();
    let next = q
        .report(
            &claim,
            SendResult::Permanent {
                error_code: "discord_missing_permissions".into(),
                reason: "Missing Permissions".into(),
                discord_code: Some(50_013),
            },
            T0,
            0.0,
        )
        .unwrap();
    let Next::DeadLettered(f) = next else {
        panic!()
    };
    assert_eq!(f.discord_code, Some(50_013));
    assert_eq!(q.dead[0].failure.error_code, "discord_missing_permissions");
    assert_eq!(q.claim(T0, LEASE_MS).unwrap().message_id, mid(2));
    // Edits of the dead message wait with it; its delete resolves it without a call.
    assert_eq!(
        q.enqueue(&mid(1), ChangeKind::Edit, T0),
        Enqueued::Coalesced(1)
    );
    assert_eq!(
        q.enqueue(&mid(1), ChangeKind::Delete, T0),
        Enqueued::Cancelled(1)
    );
    assert!(q.dead.is_empty());
    let _ = &mut ch;
}

#[test]
fn unknown_webhook_is_recreated_once() {
    let mut q = TargetQueue::new();
    let r = rendered(&[("x", &[])]);
    q.enqueue(&mid(1), ChangeKind::Create, T0);
    let gone = || SendResult::Permanent {
        error_code: "discord_unknown_webhook".into(),
        reason: "Unknown Webhook".into(),
        discord_code: Some(UNKNOWN_WEBHOOK),
    };
    let claim = q.claim(T0, LEASE_MS).unwrap();
    q.plan(&claim, Desired::Parts(&r), &hook(), T0).unwrap();
    assert_eq!(
        q.report(&claim, gone(), T0, 0.0).unwrap(),
        Next::RecreateWebhook
    );
    let claim = q.claim(T0, LEASE_MS).unwrap();
    assert!(matches!(
        q.plan(&claim, Desired::Parts(&r), &hook(), T0).unwrap(),
        Action::Send(_)
    ));
    assert!(matches!(
        q.report(&claim, gone(), T0, 0.0).unwrap(),
        Next::DeadLettered(_)
    ));
}

#[test]
fn edits_of_messages_never_received_are_ignored() {
    let mut q = TargetQueue::new();
    assert_eq!(q.enqueue(&mid(1), ChangeKind::Edit, T0), Enqueued::Ignored);
    assert_eq!(
        q.enqueue(&mid(1), ChangeKind::Delete, T0),
        Enqueued::Ignored
    );
    assert_eq!(q.depth(), 0);
    assert!(q.map.get(&mid(1)).is_none());
}

#[test]
fn skipped_signals_post_nothing_and_follow_their_edits() {
    let mut q = TargetQueue::new();
    let mut ch = Channel::default();
    let m = mid(1);
    let skip = Skip {
        rule: "filters_json.blocked_keywords".into(),
        detail: "contains blocked text".into(),
    };
    q.enqueue(&m, ChangeKind::Create, T0);
    let claim = q.claim(T0, LEASE_MS).unwrap();
    assert_eq!(
        q.plan(&claim, Desired::Skipped(&skip), &hook(), T0)
            .unwrap(),
        Action::Finished(Finished::Skipped(skip.clone()))
    );
    assert_eq!(q.map.get(&m).unwrap().skipped.as_ref(), Some(&skip));
    // An edit that passes the filters now appears.
    q.enqueue(&m, ChangeKind::Edit, T0);
    drain(&mut q, &mut ch, &|_| Some(rendered(&[("ok now", &[])])), T0);
    assert_eq!(ch.live(), vec!["ok now"]);
    assert_eq!(q.map.get(&m).unwrap().skipped, None);
    // An edit the filters refuse takes it down again.
    q.enqueue(&m, ChangeKind::Edit, T0);
    let claim = q.claim(T0, LEASE_MS).unwrap();
    let Action::Send(s) = q
        .plan(&claim, Desired::Skipped(&skip), &hook(), T0)
        .unwrap()
    else {
        panic!()
    };
    q.report(&claim, ch.apply(&s.step, None, T0), T0, 0.0)
        .unwrap();
    q.plan(&claim, Desired::Skipped(&skip), &hook(), T0)
        .unwrap();
    assert!(ch.live().is_empty());
    // A delete then has nothing left to remove.
    assert_eq!(q.enqueue(&m, ChangeKind::Delete, T0), Enqueued::Ignored);
}

#[test]
fn retention_never_drops_the_map_of_a_live_signal() {
    let mut q = TargetQueue::new();
    let mut ch = Channel::default();
    for n in 1..=3 {
        q.enqueue(&mid(n), ChangeKind::Create, T0);
    }
    drain(
        &mut q,
        &mut ch,
        &|m| Some(rendered(&[(m.as_str(), &[])])),
        T0,
    );
    q.enqueue(&mid(3), ChangeKind::Edit, T0);
    // Signal 1 is still kept (however old); 2 and 3 are gone from the store, but 3 has a job.
    let dropped = q.retain(|m| *m == mid(1));
    assert_eq!(dropped, 1);
    assert!(q.map.get(&mid(1)).is_some());
    assert!(q.map.get(&mid(2)).is_none());
    assert!(q.map.get(&mid(3)).is_some(), "a job still needs it");
    // Years later, an edit of signal 1 patches its mirror.
    q.enqueue(&mid(1), ChangeKind::Edit, T0 + 365 * 86_400_000);
    drain(
        &mut q,
        &mut ch,
        &|m| Some(rendered(&[(&format!("{m} edited"), &[])])),
        T0 + 365 * 86_400_000,
    );
    assert_eq!(ch.posts, 3);
}

#[test]
fn state_round_trips_through_json() {
    let mut q = TargetQueue::new();
    let r = rendered(&[("x", &[1])]);
    q.enqueue(&mid(1), ChangeKind::Create, T0);
    q.enqueue(&mid(2), ChangeKind::Create, T0);
    let claim = q.claim(T0, LEASE_MS).unwrap();
    q.plan(&claim, Desired::Parts(&r), &hook(), T0).unwrap();
    let json = serde_json::to_string(&q).unwrap();
    let back: TargetQueue = serde_json::from_str(&json).unwrap();
    assert_eq!(back, q);
    // A restored queue continues where it stopped: the attempt in flight is still in doubt.
    let mut back = back;
    let claim = back.claim(T0 + LEASE_MS, LEASE_MS).unwrap();
    assert!(matches!(
        back.plan(&claim, Desired::Parts(&r), &hook(), T0 + LEASE_MS)
            .unwrap(),
        Action::Lookup(_)
    ));
}

#[test]
fn bot_posts_carry_a_nonce_within_discords_limit() {
    let mut q = TargetQueue::new();
    let m = MessageId::parse("18446744073709551615").unwrap();
    q.enqueue(&m, ChangeKind::Create, T0);
    let claim = q.claim(T0, LEASE_MS).unwrap();
    let mut r = rendered(&[("card", &[])]);
    r.poster = Poster::Bot;
    let bot = PosterId::Bot(UserId::parse("5").unwrap());
    let Action::Send(s) = q.plan(&claim, Desired::Parts(&r), &bot, T0).unwrap() else {
        panic!()
    };
    let n = s.nonce.unwrap();
    assert!(n.len() <= 25, "{n}");
    assert_eq!(n, nonce(&m, 0, claim.job_id));
    assert_ne!(nonce(&m, 0, 1), nonce(&m, 1, 1));
    assert_ne!(nonce(&m, 0, 1), nonce(&mid(1), 0, 1));
    assert!(nonce(&m, 99, u64::MAX).len() <= 25);
    // Webhook posts carry none (webhooks have no nonce).
    let mut q = TargetQueue::new();
    q.enqueue(&m, ChangeKind::Create, T0);
    let claim = q.claim(T0, LEASE_MS).unwrap();
    let Action::Send(s) = q
        .plan(
            &claim,
            Desired::Parts(&rendered(&[("x", &[])])),
            &hook(),
            T0,
        )
        .unwrap()
    else {
        panic!()
    };
    assert_eq!(s.nonce, None);
}

#[test]
fn lookup_points() {
    assert_eq!(
        snowflake_at(DISCORD_EPOCH_MS as i64 + 1).value(),
        (1 << 22) - 1
    );
    let id = MessageId::parse("175928847299117063").unwrap();
    let after = snowflake_at(id.timestamp_ms());
    assert!(after.value() < id.value());
    assert_eq!(snowflake_at(0).value(), 0);
}

// ---------------------------------------------------------------------------------------------
// Random event sequences

#[derive(Debug, Clone, Copy)]
enum Outcome {
    Ok,
    CrashBeforeSend,
    CrashAfterSend,
    TransientBeforeSend,
    TransientAfterSend,
    RateLimited,
    PagedLookup,
    /// Discord refuses (a missing permission): the job is dead-lettered.
    Refused,
}

#[derive(Debug, Clone)]
enum Ev {
    Create(u64),
    Edit(u64),
    Delete(u64),
    Run(Outcome),
    Advance(i64),
    RequeueAll,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Src {
    Never,
    Live(u32),
    Deleted,
}

const MESSAGES: u64 = 4;

fn version_parts(m: u64, v: u32) -> Rendered {
    let n = 1 + (v % 3) as usize;
    let texts: Vec<String> = (0..n).map(|i| format!("m{m} v{v} p{i}")).collect();
    let files: Vec<u64> = if v % 2 == 0 { vec![500 + m] } else { vec![] };
    Rendered {
        poster: Poster::Webhook,
        username: "Ana".into(),
        avatar_url: None,
        parts: texts
            .into_iter()
            .enumerate()
            .map(|(i, content)| Part {
                content,
                embeds: vec![],
                attachments: if i == 0 {
                    files.iter().map(|f| att(*f)).collect()
                } else {
                    vec![]
                },
            })
            .collect(),
        role_ping_id: None,
        dropped_attachments: vec![],
    }
}

fn desired_of(src: &[Src], m: &MessageId) -> Option<Rendered> {
    let n = m.value() - 1_000;
    match src[n as usize] {
        Src::Live(v) => Some(version_parts(n, v)),
        _ => None,
    }
}

/// One invocation of the runtime: claim, then plan / call / report until the job is done,
/// with the first call meeting `outcome`.
fn run_once(q: &mut TargetQueue, ch: &mut Channel, src: &[Src], now: i64, outcome: Outcome) {
    let Some(claim) = q.claim(now, LEASE_MS) else {
        return;
    };
    let mut first = true;
    for _ in 0..50 {
        let r = desired_of(src, &claim.message_id);
        let d = r.as_ref().map(Desired::Parts).unwrap_or(Desired::Absent);
        match q.plan(&claim, d, &hook(), now).unwrap() {
            Action::Finished(_) => return,
            Action::Lookup(l) => {
                let after = l
                    .after_id
                    .clone()
                    .unwrap_or_else(|| snowflake_at(l.after_ms));
                let all = ch.list(&after);
                if matches!(outcome, Outcome::PagedLookup) && all.len() > 1 {
                    q.report_lookup(&claim, &all[..1], false, now).unwrap();
                } else {
                    q.report_lookup(&claim, &all, true, now).unwrap();
                }
            }
            Action::Send(s) => {
                let o = if first { outcome } else { Outcome::Ok };
                first = false;
                let report = |q: &mut TargetQueue, res| q.report(&claim, res, now, 0.5).unwrap();
                match o {
                    Outcome::CrashBeforeSend => return,
                    Outcome::CrashAfterSend => {
                        ch.apply(&s.step, r.as_ref(), now);
                        return;
                    }
                    Outcome::TransientBeforeSend => {
                        report(
                            q,
                            SendResult::Transient {
                                reason: "timeout".into(),
                            },
                        );
                        return;
                    }
                    Outcome::TransientAfterSend => {
                        ch.apply(&s.step, r.as_ref(), now);
                        report(
                            q,
                            SendResult::Transient {
                                reason: "502".into(),
                            },
                        );
                        return;
                    }
                    Outcome::RateLimited => {
                        report(q, SendResult::NotBefore { at_ms: now + 700 });
                        return;
                    }
                    Outcome::Refused => {
                        let next = report(
                            q,
                            SendResult::Permanent {
                                error_code: "discord_missing_permissions".into(),
                                reason: "Missing Permissions".into(),
                                discord_code: Some(50_013),
                            },
                        );
                        assert!(matches!(next, Next::DeadLettered(_)));
                        return;
                    }
                    Outcome::Ok | Outcome::PagedLookup => {
                        let res = ch.apply(&s.step, r.as_ref(), now);
                        if let Next::DeadLettered(f) = report(q, res) {
                            panic!("dead-lettered: {f:?}");
                        }
                    }
                }
            }
        }
    }
    panic!("a job that never finishes");
}

/// Parses `m{m} v{v} p{i}`.
fn tag(content: &str) -> (u64, u32, usize) {
    let mut it = content.split(' ');
    let m = it.next().unwrap()[1..].parse().unwrap();
    let v = it.next().unwrap()[1..].parse().unwrap();
    let p = it.next().unwrap()[1..].parse().unwrap();
    (m, v, p)
}

fn at_most_one_live_post_per_part(ch: &Channel) -> Result<(), String> {
    let mut seen = std::collections::BTreeSet::new();
    for c in ch.live() {
        let (m, _, p) = tag(c);
        if !seen.insert((m, p)) {
            return Err(format!("two live posts of m{m} part {p}: {:?}", ch.live()));
        }
    }
    Ok(())
}

fn ev() -> impl Strategy<Value = Ev> {
    let outcome = prop_oneof![
        4 => Just(Outcome::Ok),
        1 => Just(Outcome::CrashBeforeSend),
        1 => Just(Outcome::CrashAfterSend),
        1 => Just(Outcome::TransientBeforeSend),
        1 => Just(Outcome::TransientAfterSend),
        1 => Just(Outcome::RateLimited),
        1 => Just(Outcome::PagedLookup),
        1 => Just(Outcome::Refused),
    ];
    prop_oneof![
        2 => (0..MESSAGES).prop_map(Ev::Create),
        3 => (0..MESSAGES).prop_map(Ev::Edit),
        1 => (0..MESSAGES).prop_map(Ev::Delete),
        5 => outcome.prop_map(Ev::Run),
        2 => prop_oneof![Just(100i64), Just(LEASE_MS), Just(5 * 60_000)].prop_map(Ev::Advance),
        1 => Just(Ev::RequeueAll),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1_500))]

    /// Any interleaving of creates, edits and deletes with runs that crash, fail, get rate
    /// limited, are refused (dead letters, requeued later) or page their lookups, and with
    /// time passing over leases: at no point does a
    /// part have two live posts, and once the queue drains the channel shows exactly the
    /// source: every live message's current parts, once each, and nothing of deleted ones.
    #[test]
    fn random_event_sequences_converge_exactly_once(events in proptest::collection::vec(ev(), 1..80)) {
        let mut q = TargetQueue::new();
        let mut ch = Channel::default();
        let mut src = vec![Src::Never; MESSAGES as usize];
        let mut now = T0;
        for e in &events {
            match e {
                Ev::Create(m) => {
                    if src[*m as usize] == Src::Never {
                        src[*m as usize] = Src::Live(0);
                        q.enqueue(&mid(*m), ChangeKind::Create, now);
                    }
                }
                Ev::Edit(m) => match src[*m as usize] {
                    Src::Live(v) => {
                        src[*m as usize] = Src::Live(v + 1);
                        q.enqueue(&mid(*m), ChangeKind::Edit, now);
                    }
                    // An edit this target never received the create of.
                    Src::Never => {
                        prop_assert_eq!(q.enqueue(&mid(*m), ChangeKind::Edit, now), Enqueued::Ignored);
                    }
                    Src::Deleted => {}
                },
                Ev::Delete(m) => match src[*m as usize] {
                    Src::Live(_) => {
                        src[*m as usize] = Src::Deleted;
                        q.enqueue(&mid(*m), ChangeKind::Delete, now);
                    }
                    // A delete of a message never seen is a tombstone: no change to mirror.
                    Src::Never => src[*m as usize] = Src::Deleted,
                    Src::Deleted => {}
                },
                Ev::Run(o) => run_once(&mut q, &mut ch, &src, now, *o),
                Ev::Advance(ms) => now += ms,
                Ev::RequeueAll => {
                    q.requeue_all(now);
                }
            }
            if let Err(e) = at_most_one_live_post_per_part(&ch) {
                return Err(TestCaseError::fail(e));
            }
            for j in q.jobs.iter().skip(1) {
                prop_assert!(j.lease.is_none(), "only the head is ever leased");
            }
        }
        // Drain: time passes beyond every lease and backoff; dead letters are requeued.
        for _ in 0..100 {
            if q.jobs.is_empty() && q.dead.is_empty() {
                break;
            }
            q.requeue_all(now);
            now += BACKOFF_MAX_MS + LEASE_MS;
            run_once(&mut q, &mut ch, &src, now, Outcome::Ok);
        }
        prop_assert!(q.jobs.is_empty(), "drained: {:?}", q.jobs);
        prop_assert!(q.dead.is_empty());
        if let Err(e) = at_most_one_live_post_per_part(&ch) {
            return Err(TestCaseError::fail(e));
        }
        for m in 0..MESSAGES {
            let mut live: Vec<(u32, usize)> = ch
                .live()
                .into_iter()
                .map(tag)
                .filter(|(x, _, _)| *x == m)
                .map(|(_, v, p)| (v, p))
                .collect();
            live.sort_by_key(|(_, p)| *p);
            match src[m as usize] {
                Src::Live(v) => {
                    let n = 1 + (v % 3) as usize;
                    let want: Vec<(u32, usize)> = (0..n).map(|p| (v, p)).collect();
                    prop_assert_eq!(&live, &want, "m{} shows its current version", m);
                    let rec = q.map.get(&mid(m)).unwrap();
                    prop_assert_eq!(rec.parts.len(), n);
                    for (p, part) in rec.parts.iter().enumerate() {
                        let msg = &ch.msgs[&part.message_id.value()];
                        prop_assert!(msg.live);
                        prop_assert_eq!(tag(&msg.content), (m, v, p), "the map points at the right message");
                        // Files: part 0 carries one file on even versions.
                        let files = if p == 0 && v % 2 == 0 { 1 } else { 0 };
                        prop_assert_eq!(msg.files.len(), files);
                        prop_assert_eq!(part.files.len(), files);
                    }
                }
                _ => prop_assert!(live.is_empty(), "m{} is gone: {:?}", m, live),
            }
        }
    }
}

#[test]
fn a_failed_preparation_keeps_a_post_in_doubt_and_counts_like_a_failure() {
    let mut q = TargetQueue::new();
    let mut ch = Channel::default();
    let r = rendered(&[("BTC long", &[])]);
    q.enqueue(&mid(1), ChangeKind::Create, T0);
    q.enqueue(&mid(2), ChangeKind::Create, T0);
    let claim = q.claim(T0, LEASE_MS).unwrap();
    let Action::Send(s) = q.plan(&claim, Desired::Parts(&r), &hook(), T0).unwrap() else {
        panic!("a post")
    };
    // The post lands, then the process dies before the report.
    let _ = ch.apply(&s.step, Some(&r), T0);
    let later = T0 + LEASE_MS + 1;
    let claim = q.claim(later, LEASE_MS).unwrap();
    // Re-creating the webhook is rate limited: the head waits, nothing else moves ahead.
    let next = q
        .report_unsent(
            &claim,
            SendResult::NotBefore { at_ms: later + 500 },
            later,
            0.0,
        )
        .unwrap();
    assert_eq!(next, Next::RetryAt(later + 500));
    assert!(q.claim(later + 499, LEASE_MS).is_none());
    let claim = q.claim(later + 500, LEASE_MS).unwrap();
    assert_eq!(claim.message_id, mid(1));
    assert!(
        matches!(
            q.plan(&claim, Desired::Parts(&r), &hook(), later + 500)
                .unwrap(),
            Action::Lookup(_)
        ),
        "the post is still in doubt: it is looked for, not made again"
    );
    // A transient failure counts and backs off; a permanent one dead-letters the head only.
    let t = later + 500;
    let Next::RetryAt(at) = q
        .report_unsent(
            &claim,
            SendResult::Transient {
                reason: "503".into(),
            },
            t,
            0.0,
        )
        .unwrap()
    else {
        panic!()
    };
    assert!(at > t);
    assert_eq!(q.jobs[0].failures, 1);
    let claim = q.claim(at, LEASE_MS).unwrap();
    let next = q
        .report_unsent(
            &claim,
            SendResult::Permanent {
                error_code: "discord_missing_permissions".into(),
                reason: "Missing Permissions".into(),
                discord_code: Some(50_013),
            },
            at,
            0.0,
        )
        .unwrap();
    assert!(matches!(next, Next::DeadLettered(_)));
    assert_eq!(q.dead[0].job.message_id, mid(1));
    assert_eq!(q.claim(at, LEASE_MS).unwrap().message_id, mid(2));
    assert!(q
        .report_unsent(&claim, SendResult::Deleted, at, 0.0)
        .is_err());
}

#[test]
fn expire_held_drops_old_heads_in_order_and_never_a_running_job() {
    let mut q = TargetQueue::new();
    q.enqueue(&mid(1), ChangeKind::Create, T0);
    q.enqueue(&mid(2), ChangeKind::Create, T0 + 10);
    q.enqueue(&mid(3), ChangeKind::Create, T0 + 20);
    assert!(q.expire_held(T0 - 1).is_empty());
    let gone: Vec<MessageId> = q
        .expire_held(T0 + 10)
        .into_iter()
        .map(|j| j.message_id)
        .collect();
    assert_eq!(gone, vec![mid(1), mid(2)]);
    assert_eq!(q.jobs.len(), 1);
    let c = q.claim(T0 + 30, LEASE_MS).expect("the head is due");
    assert_eq!(c.message_id, mid(3));
    assert!(q.expire_held(T0 + 1_000).is_empty(), "a leased head stays");
    assert_eq!(q.jobs.len(), 1);
}
