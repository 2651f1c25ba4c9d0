"""The Notion target: API client with the rate budget, schema preflight and database setup."""
