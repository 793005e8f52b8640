//! The online round of a check: send the request, verify the answer, decide, and
//! conclude (persist the lease and the marks).

use license_shared::{AppInfo, ValidateRequest, VerdictPayload};

use super::local::Pending;
use super::Inner;
use crate::app::{grants, ThisApp};
use crate::decide::{from_answer, Failure};
use crate::fingerprint::Fingerprint;
use crate::store::keystore::LicenseKeyText;
use crate::transport::{Call, Received, TransportError};
use crate::verdict::{Code, Verdict};
use crate::verify::{fresh_nonce, verify_online};

impl Inner {
    /// The body every call sends; activation adds `machine_name`, a deactivation of
    /// another machine `machine_id`.
    pub(super) fn request(
        &self,
        key: &LicenseKeyText,
        nonce: &str,
        fingerprint: &Fingerprint,
    ) -> ValidateRequest {
        ValidateRequest {
            license_key: key.expose().to_owned(),
            nonce: nonce.to_owned(),
            fingerprint: Some(fingerprint.as_str().to_owned()),
            app: Some(AppInfo {
                id: self.app_id.clone(),
                version: self.app_version.clone(),
            }),
            machine_name: None,
            machine_id: None,
            product: self.app.product.clone(),
            borrow_days: None,
        }
    }

    pub(super) async fn ask(
        &self,
        key: &LicenseKeyText,
    ) -> Result<(Received, ValidateRequest), TransportError> {
        let (Some(transport), Ok(fingerprint)) = (&self.transport, &self.fingerprint) else {
            return Err(TransportError::NoBrokerUrl);
        };
        let request = self.request(key, &fresh_nonce(), fingerprint);
        let received = transport.post(Call::Validate, &request).await?;
        Ok((received, request))
    }

    pub(super) fn finish(
        &self,
        pending: Pending,
        answer: Result<(Received, ValidateRequest), TransportError>,
    ) -> Verdict {
        let Pending {
            local,
            lease,
            rolled_back,
        } = pending;
        let now = self.clock.now();
        let mut marks = local.marks();
        let (received, sent) = match answer {
            Ok(answer) => answer,
            Err(e) => {
                let failure = Failure::Transport(e);
                return self.answer_from_lease(
                    &local,
                    lease,
                    &failure,
                    rolled_back,
                    now,
                    marks.seen_at(now),
                );
            }
        };
        let fingerprint = match &self.fingerprint {
            Ok(fp) => fp,
            Err(e) => return Verdict::local(Code::MachineIdUnavailable, e.to_string()),
        };
        let payload = match verify_online(
            &received.envelope,
            &self.trusted_keys,
            Call::Validate,
            &sent,
            fingerprint,
            &local.license_id,
            &self.app,
        ) {
            Ok(payload) => payload,
            Err(untrusted) => {
                let failure = Failure::Untrusted(untrusted);
                return self.answer_from_lease(
                    &local,
                    lease,
                    &failure,
                    rolled_back,
                    now,
                    marks.seen_at(now),
                );
            }
        };
        let offset = now.saturating_sub(payload.iat);
        let skewed = offset.saturating_abs() > self.skew_tolerance;
        let grants = grants(&payload, &self.app);
        if grants && skewed {
            // Verified but our clock is wrong: keep the signed time, not our own. The
            // envelope is not stored, so `newest_iat` stays at the stored lease's `iat`:
            // raising it would make the next start refuse that lease as older.
            marks.high_water = high_water_after(marks.high_water, payload.iat, now, true);
            let failure = Failure::Skew { offset };
            return self.answer_from_lease(&local, lease, &failure, rolled_back, now, marks);
        }
        marks.high_water = high_water_after(marks.high_water, payload.iat, now, skewed);
        // The nonce proves the answer fresh even when its `iat` is a little before
        // `newest_iat` (replicas' clocks differ). A deny always replaces the lease; an
        // allow older than the lease answers this check but keeps the newer lease,
        // which the next start would otherwise refuse as older.
        let store = !grants || payload.iat >= marks.newest_iat;
        if store {
            marks.newest_iat = newest_after_storing(marks.newest_iat, &payload, &self.app);
        }
        let verdict = from_answer(&payload, now, self.skew_tolerance, &self.app);
        self.conclude(verdict, &local, store.then_some(&received), marks)
    }
}

/// The high-water mark after a verified online answer signed at `iat`. A fresh answer
/// within the skew tolerance proves the clock right now, so it resets the mark (healing
/// one pushed up by a clock that ran fast); from a skewed clock only the signed time
/// counts, and it can only raise the mark.
pub(super) fn high_water_after(high_water: i64, iat: i64, now: i64, skewed: bool) -> i64 {
    if skewed {
        high_water.max(iat)
    } else {
        iat.max(now)
    }
}

/// `newest_iat` once the verified online answer `payload` is stored as the lease; it
/// never goes down. A deny also moves it past every allow accepted so far: a replica
/// whose clock is behind may sign a deny seconds "before" the allow it replaces, and
/// that allow must never be accepted from a file again. Allow and deny as this build
/// reads them (`decide::grants`), as the cached-lease check does.
pub(super) fn newest_after_storing(
    newest_iat: i64,
    payload: &VerdictPayload,
    app: &ThisApp,
) -> i64 {
    if !grants(payload, app) && payload.iat <= newest_iat {
        newest_iat.saturating_add(1)
    } else {
        newest_iat.max(payload.iat)
    }
}
