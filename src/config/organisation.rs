//! `[organisation]`: the landlord as it appears in letters and references.

use serde::Deserialize;

use super::{ConfigError, SmtpSettings, address_of, invalid};

/// The landlord as it appears in letters.
#[derive(Debug, Clone)]
pub struct OrganisationSettings {
    pub name: String,
    pub reference_prefix: String,
    /// Domain of the Message-IDs redress makes; mail quoting one of these is ours.
    pub message_id_domain: String,
    pub complaints_address: String,
    pub ombudsman_contact: String,
    /// An image shown at the top of HTML letters (an https address); letters read without it.
    pub logo_url: Option<String>,
}

/// The Housing Ombudsman's contact details as printed in letters by default.
pub const DEFAULT_OMBUDSMAN_CONTACT: &str = "Housing Ombudsman Service, PO Box 1484, Unit D, Preston, PR2 0ET; telephone 0300 111 3000; www.housing-ombudsman.org.uk; info@housing-ombudsman.org.uk";

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawOrganisation {
    name: Option<String>,
    reference_prefix: Option<String>,
    message_id_domain: Option<String>,
    ombudsman_contact: Option<String>,
    logo_url: Option<String>,
}

/// `[organisation]`; the complaints address is the sender of letters (`smtp.from`).
pub(super) fn build(
    raw: RawOrganisation,
    smtp: &SmtpSettings,
) -> Result<OrganisationSettings, ConfigError> {
    let prefix = raw.reference_prefix.unwrap_or_else(|| "CMP".into());
    if prefix.is_empty() || !prefix.chars().all(|c| c.is_ascii_uppercase()) || prefix.len() > 8 {
        return Err(invalid(
            "organisation.reference_prefix",
            format!("`{prefix}`"),
            "use 1 to 8 capital letters, e.g. \"CMP\"",
        ));
    }
    let from_address = address_of(&smtp.from).unwrap_or_default();
    let domain_of_from = from_address
        .rsplit('@')
        .next()
        .unwrap_or("localhost")
        .to_string();
    Ok(OrganisationSettings {
        name: super::required(
            raw.name,
            "organisation.name",
            "add the landlord's name as residents know it, e.g. name = \"Example Homes\" under [organisation]: letters thank residents for contacting it",
        )?,
        reference_prefix: prefix,
        message_id_domain: raw.message_id_domain.unwrap_or(domain_of_from),
        complaints_address: from_address,
        ombudsman_contact: raw
            .ombudsman_contact
            .unwrap_or_else(|| DEFAULT_OMBUDSMAN_CONTACT.into()),
        logo_url: match raw.logo_url {
            Some(url) if !url.starts_with("https://") => {
                return Err(invalid(
                    "organisation.logo_url",
                    format!("`{url}` is not an https address"),
                    "give the logo's https address, or leave it out",
                ));
            }
            other => other,
        },
    })
}
