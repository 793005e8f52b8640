//! Steps 12 to 15: floating licenses and trials. Customer 7 is `FLOATING` (2 seats,
//! `max_borrow_days` 7); the demo's broker leases a floating seat for
//! [`FLOATING_LEASE_SECS`] so that the background renewal shows in seconds. The
//! emulator's clock is moved (`POST /__emulator/clock`) to free a running app's seat
//! and to end a trial, so these steps come last.

use std::time::Duration;

use anyhow::{ensure, Context as _};
use license_client::{Checkout, Clock as _, Code, SeatState};

use super::{desktop_client, product_client, show, DAY};
use crate::narrate::Narrator;
use license_testkit::Stack;

/// The demo broker's floating lease (a real one defaults to 900 s).
pub(super) const FLOATING_LEASE_SECS: u64 = 2;

/// Moves the emulator's clock (the vendor database's, in this story) forward.
async fn advance_database_clock(stack: &Stack, secs: u64) -> anyhow::Result<()> {
    let url = format!("{}/__emulator/clock", stack.emulator().base_url);
    let response = reqwest::Client::new()
        .post(url)
        .json(&serde_json::json!({ "advance_secs": secs }))
        .send()
        .await?;
    ensure!(
        response.status() == 200,
        "moving the clock: {}",
        response.status()
    );
    Ok(())
}

fn now() -> i64 {
    license_client::SystemClock.now()
}

/// Step 12: seats for whoever runs now; a checkin frees one at once.
pub(super) async fn floating_seats(out: &mut Narrator, stack: &Stack) -> anyhow::Result<()> {
    out.step("A floating license: two apps running at once, a third waits for a checkin");
    let key = stack.issue_key("7")?;
    let mut running = Vec::new();
    for name in ["cad-anna", "cad-ben"] {
        let app = desktop_client(stack, name)?;
        let how = Checkout {
            machine_name: Some(name),
            borrow_days: None,
        };
        let seat = app.checkout(&key, how).await.context("checkout")?;
        show(out, &format!("customer 7 on {name}, checkout"), &seat);
        ensure!(seat.code == Code::Valid, "{name}: {seat:?}");
        running.push(app);
    }
    let third = desktop_client(stack, "cad-carla")?;
    let refused = third.checkout(&key, Checkout::default()).await?;
    show(out, "customer 7 on a third machine, checkout", &refused);
    ensure!(
        refused.code == Code::SeatsInUse && refused.message.contains("cad-anna"),
        "expected SEATS_IN_USE naming the holders, got {refused:?}"
    );
    let returned = running[0].checkin().await.context("checkin")?;
    show(out, "cad-anna closes the app, checkin", &returned);
    let joined = third.checkout(&key, Checkout::default()).await?;
    show(out, "the third machine, checkout again", &joined);
    ensure!(joined.code == Code::Valid, "after a checkin: {joined:?}");
    for app in [&running[1], &third] {
        app.checkin().await?;
    }
    out.proved("the database counts machines running now; a checkin frees a seat at once");
    Ok(())
}

/// Step 13: a crashed app's seat comes back when its lease runs out; a borrow is capped.
pub(super) async fn leases_and_borrowing(out: &mut Narrator, stack: &Stack) -> anyhow::Result<()> {
    out.step("A crashed app's seat comes back by itself; a borrowed seat is capped by the license");
    let key = stack.issue_key("7")?;
    let crashed = desktop_client(stack, "cad-crashed")?;
    let borrower = desktop_client(stack, "cad-laptop")?;
    let seat = crashed.checkout(&key, Checkout::default()).await?;
    let lease = seat.offline_until.unwrap_or(0) - now();
    out.detail(format!(
        "  the seat's verdict may be used offline for {lease} s: never longer than its lease"
    ));
    ensure!(
        seat.licensed && lease <= FLOATING_LEASE_SECS as i64 + 1,
        "{seat:?}"
    );
    let how = Checkout {
        machine_name: Some("field laptop"),
        borrow_days: Some(30),
    };
    let borrowed = borrower.checkout(&key, how).await?;
    show(out, "a laptop borrows a seat for 30 days", &borrowed);
    let days = (borrowed.offline_until.unwrap_or(0) - now()) as f64 / DAY as f64;
    out.detail(format!(
        "  offline for {days:.1} days: the license's max_borrow_days is 7"
    ));
    ensure!(
        borrowed.licensed && days <= 7.01 && days > 6.9,
        "{borrowed:?}"
    );
    let other = desktop_client(stack, "cad-other")?;
    let full = other.checkout(&key, Checkout::default()).await?;
    ensure!(full.code == Code::SeatsInUse, "{full:?}");
    // The crashed app renews nothing: one lease later its seat is free again.
    tokio::time::sleep(Duration::from_millis(FLOATING_LEASE_SECS * 1000 + 500)).await;
    let joined = other.checkout(&key, Checkout::default()).await?;
    show(
        out,
        "the crashed app's lease ran out; another machine, checkout",
        &joined,
    );
    ensure!(joined.code == Code::Valid, "{joined:?}");
    let back = borrower.checkin().await?;
    show(
        out,
        "the laptop is back online and returns its borrowed seat",
        &back,
    );
    ensure!(back.code == Code::Deactivated, "{back:?}");
    other.checkin().await?;
    out.proved("no seat stays stuck after a crash, and no borrow outlives what the license allows");
    Ok(())
}

/// Step 14: the library renews the seat in the background and says when it is lost.
pub(super) async fn background_renewal(out: &mut Narrator, stack: &Stack) -> anyhow::Result<()> {
    out.step("The library keeps the seat while the app runs, and tells the app when it is lost");
    let key = stack.issue_key("7")?;
    let app = desktop_client(stack, "cad-running")?;
    let seat = app.checkout(&key, Checkout::default()).await?;
    let keeper = app.keep_seat(&seat)?;
    let mut watch = keeper.watch();
    let mut renewals = 0;
    while renewals < 3 {
        let wait = Duration::from_secs(FLOATING_LEASE_SECS * 2);
        tokio::time::timeout(wait, watch.changed())
            .await
            .context("no renewal within two leases")??;
        let state = watch.borrow_and_update().clone();
        ensure!(
            matches!(state, SeatState::Held { .. }),
            "lost early: {state:?}"
        );
        renewals += 1;
    }
    out.detail(format!(
        "  {renewals} background renewals over three {FLOATING_LEASE_SECS} s leases, one request each"
    ));
    advance_database_clock(stack, FLOATING_LEASE_SECS + 60).await?;
    let wait = Duration::from_secs(FLOATING_LEASE_SECS * 3);
    let lost = tokio::time::timeout(wait, async {
        loop {
            watch.changed().await?;
            if let SeatState::Lost { code, message } = watch.borrow_and_update().clone() {
                return anyhow::Ok((code, message));
            }
        }
    })
    .await
    .context("the loss was not reported")??;
    out.detail(format!(
        "  the watch channel says: {} \"{}\"",
        lost.0, lost.1
    ));
    ensure!(lost.0 == Code::Deactivated, "{lost:?}");
    drop(keeper);
    out.proved(
        "renewal at a fraction of the lease with jitter; the app learns of a lost seat at once",
    );
    Ok(())
}

/// Step 15: one trial per machine and product, ended by the database's clock.
pub(super) async fn trials(out: &mut Narrator, stack: &Stack) -> anyhow::Result<()> {
    out.step("A trial: once per machine and product, ended by the database's clock");
    let app = product_client(stack, "trial-pc", None)?;
    let first = app.start_trial().await?;
    show(out, "desktop-pro on a new machine, start trial", &first);
    ensure!(first.code == Code::Trial && first.licensed, "{first:?}");
    let again = app.start_trial().await?;
    show(
        out,
        "the same machine after a reinstall, start trial",
        &again,
    );
    ensure!(
        again.expires_at == first.expires_at,
        "a second trial: {again:?}"
    );
    advance_database_clock(stack, 15 * DAY as u64).await?;
    let over = app.start_trial().await?;
    show(
        out,
        "15 days later (the database's clock), start trial",
        &over,
    );
    ensure!(
        over.code == Code::TrialExpired && !over.licensed,
        "{over:?}"
    );
    out.proved("the trial lives in the vendor's database under a keyed hash of the machine, so a reinstall does not reset it");
    Ok(())
}
