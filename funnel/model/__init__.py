"""From read tables to linked data: column mapping, rules, normalising, linking, the session."""
