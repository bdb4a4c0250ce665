//! `redress user …`: the accounts that sign in to the web app. Passwords come from a file or
//! standard input, never from an argument (arguments are visible to every user of the machine).

use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::Subcommand;

use crate::accounts::{Role, hash_password};
use crate::app::App;
use crate::clock::Clock;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add an account (password from --password-file, else the first line of standard input).
    Add {
        email: String,
        /// handler, manager or admin.
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// The name that signs their letters (default: the address).
        #[arg(long)]
        name: Option<String>,
        #[arg(long)]
        password_file: Option<PathBuf>,
        /// No password: the account signs in only through the single sign-on proxy.
        #[arg(long, conflicts_with = "password_file")]
        sso_only: bool,
    },
    /// Set an account's password and sign it out everywhere.
    Passwd {
        email: String,
        #[arg(long)]
        password_file: Option<PathBuf>,
    },
    /// Change an account's role.
    Role {
        email: String,
        #[arg(value_parser = parse_role)]
        role: Role,
    },
    /// Stop an account signing in (and sign it out everywhere).
    Disable { email: String },
    /// Let a disabled account sign in again.
    Enable { email: String },
    /// Every account.
    List,
}

fn parse_role(text: &str) -> Result<Role, String> {
    Role::parse(text).ok_or_else(|| format!("`{text}`: use handler, manager or admin"))
}

/// A password from `file`, else from standard input (prompted on a terminal).
fn read_password(file: Option<&PathBuf>) -> Result<String> {
    let text = match file {
        Some(path) => std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the password file {}", path.display()))?,
        None => {
            if std::io::stdin().is_terminal() {
                eprint!(
                    "Password (at least 12 characters; shown as you type, so check no one is looking): "
                );
            }
            let mut line = String::new();
            std::io::stdin().lock().read_line(&mut line)?;
            line
        }
    };
    let password = text.lines().next().unwrap_or("").to_string();
    if password.is_empty() {
        bail!("no password given: use --password-file FILE or pipe it on standard input");
    }
    Ok(password)
}

/// Runs `redress user …`.
pub(super) async fn user(app: &App, command: UserCommand, clock: &Clock) -> Result<()> {
    let store = &app.store;
    let (email, done) = match command {
        UserCommand::Add {
            email,
            role,
            name,
            password_file,
            sso_only,
        } => {
            if !email.contains('@') {
                bail!("`{email}` is not an e-mail address");
            }
            let hash = if sso_only {
                None
            } else {
                Some(hash_password(&read_password(password_file.as_ref())?)?)
            };
            let name = name.unwrap_or_else(|| email.clone());
            let added = store
                .add_account(&email, &name, role, hash.as_deref(), clock.now())
                .await?;
            if !added {
                bail!(
                    "{email} already has an account (change it with `redress user role` or `passwd`)"
                );
            }
            (email, format!("added as {role}"))
        }
        UserCommand::Passwd {
            email,
            password_file,
        } => {
            let hash = hash_password(&read_password(password_file.as_ref())?)?;
            known(store.set_password(&email, &hash).await?, &email)?;
            (email, "password changed; signed out everywhere".into())
        }
        UserCommand::Role { email, role } => {
            known(store.set_role(&email, role).await?, &email)?;
            (email, format!("is now {role}"))
        }
        UserCommand::Disable { email } => {
            known(store.set_disabled(&email, true).await?, &email)?;
            (email, "disabled; signed out everywhere".into())
        }
        UserCommand::Enable { email } => {
            known(store.set_disabled(&email, false).await?, &email)?;
            (email, "enabled".into())
        }
        UserCommand::List => {
            for account in store.accounts().await? {
                println!(
                    "{:<40} {:<8} {:<9} {}",
                    account.email,
                    account.role,
                    if account.disabled {
                        "disabled"
                    } else {
                        "active"
                    },
                    account.name
                );
            }
            return Ok(());
        }
    };
    println!("{} {done}", email.trim().to_ascii_lowercase());
    Ok(())
}

fn known(changed: bool, email: &str) -> Result<()> {
    if !changed {
        bail!("no account {email} (see `redress user list`)");
    }
    Ok(())
}
