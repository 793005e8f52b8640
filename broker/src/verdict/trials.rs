//! Trials: one per machine and product, started and remembered in the vendor's
//! database (see `ords::trials`), answered with a signed verdict like any other:
//! `TRIAL` (licensed until the trial's end, usable offline within the grace),
//! `TRIAL_EXPIRED` or `NO_TRIAL`. The trial's end is the database's: the broker only
//! signs what the database decided, with the usual offline policy, capped at that end.

use license_shared::VerdictCode;

use super::{Echo, Facts, Verdicts};
use crate::ords::{Answered, TrialOutcome};

/// The `license.id` of a trial's verdict: a trial is no customer's license.
pub(crate) const TRIAL_LICENSE_ID: &str = "trial";

impl Verdicts {
    /// Starts or finds this machine's trial of `product`; the signed envelope and its
    /// code.
    pub(crate) async fn trial(
        &self,
        product: &str,
        fingerprint: &str,
        echo: Echo,
    ) -> Answered<(Vec<u8>, VerdictCode)> {
        let machine_key = self.keys.trial_key(product, fingerprint);
        let answered = self.ords.trial(product, &machine_key).await;
        let iat = (self.clock)();
        answered.map(|answer| {
            let code = match answer.outcome {
                TrialOutcome::TrialStarted | TrialOutcome::Trial => VerdictCode::Trial,
                TrialOutcome::TrialExpired => VerdictCode::TrialExpired,
                TrialOutcome::NoTrial => VerdictCode::NoTrial,
            };
            let facts = Facts {
                expires_at: answer.expires_at,
                product: Some(product),
                ..Facts::default()
            };
            let envelope = self.sign_for(TRIAL_LICENSE_ID, code, &facts, None, iat, echo);
            (envelope, code)
        })
    }
}
