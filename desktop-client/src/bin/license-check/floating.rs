//! `checkout`, `checkin` and `trial`: a floating license's seat for this machine, and a
//! product's trial. A checkout from the command line holds its seat for one lease (a
//! script checks out, runs, checks in); an app embedding the library keeps it with
//! `LicenseClient::keep_seat`.

use license_client::{Checkout, KeyStore};

use super::{print_verdict, read_key, runtime, seat_failure, shown, usage, Settings};

/// `checkout KEY [--borrow DAYS] [--name NAME]`.
pub(super) fn checkout(
    settings: Settings,
    store: Box<dyn KeyStore>,
    (key, borrow, name): (String, Option<u32>, Option<String>),
    json: bool,
) -> anyhow::Result<u8> {
    let key = read_key(key)?;
    license_shared::LicenseKey::parse(&key).map_err(usage)?;
    let store_name = store.describe();
    let relaunch = settings.relaunch.clone();
    let (client, trust) = settings.client(store, true)?;
    let how = Checkout {
        machine_name: name.as_deref(),
        borrow_days: borrow,
    };
    match runtime()?.block_on(client.checkout(&key, how)) {
        Ok(verdict) => {
            print_verdict(&verdict, json, &shown(&store_name, trust, &relaunch))?;
            Ok(verdict.outcome().exit_code())
        }
        Err(e) if e.to_string().starts_with("the license was not activated") => {
            seat_failure(e, json, None)
        }
        Err(e) => seat_failure(e, json, Some("no floating seat was checked out".into())),
    }
}

/// `checkin`: returns the seat online, then removes the saved verdict.
pub(super) fn checkin(
    settings: Settings,
    store: Box<dyn KeyStore>,
    json: bool,
) -> anyhow::Result<u8> {
    let store_name = store.describe();
    let relaunch = settings.relaunch.clone();
    let (client, trust) = settings.client(store, true)?;
    match runtime()?.block_on(client.checkin()) {
        Ok(verdict) => {
            print_verdict(&verdict, json, &shown(&store_name, trust, &relaunch))?;
            Ok(0)
        }
        Err(e) => seat_failure(e, json, Some("the floating seat was not returned".into())),
    }
}

/// `trial [--product P]`.
pub(super) fn trial(
    mut settings: Settings,
    store: Box<dyn KeyStore>,
    product: Option<String>,
    json: bool,
) -> anyhow::Result<u8> {
    if let Some(product) = product {
        settings.product = Some(product);
    }
    if settings.product.is_none() {
        return Err(usage(
            "a trial is per product: pass --product P (or set LICENSE_CHECK_PRODUCT)",
        ));
    }
    let store_name = store.describe();
    let relaunch = settings.relaunch.clone();
    let (client, trust) = settings.client(store, true)?;
    match runtime()?.block_on(client.start_trial()) {
        Ok(verdict) => {
            print_verdict(&verdict, json, &shown(&store_name, trust, &relaunch))?;
            Ok(verdict.outcome().exit_code())
        }
        Err(e) => seat_failure(e, json, Some("the trial could not be started".into())),
    }
}
