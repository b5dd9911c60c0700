"""What the source publishes and how we read it: the feed catalog, listing pages
and list APIs, the listing walk, article fields, dates, slugs, and the source's
failures described for a user."""
