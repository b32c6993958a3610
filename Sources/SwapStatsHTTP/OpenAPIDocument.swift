import Foundation
public import SwapStatsCore

/// The OpenAPI 3.1 description of the HTTP API, served at `/openapi.json`. A test checks
/// that every route the ``Router`` answers is described here and every described path is
/// answered; schemathesis checks the answers against it.
public enum OpenAPIDocument {
    /// The document for a server with these windows and bucket step: `window` lists the
    /// configured windows; `interval` lists the usual candle intervals this configuration
    /// accepts (the server also accepts any other multiple of the step).
    public static func json(windows: [WindowSpec], bucketStep: Int64) -> String {
        let names = windows.map(\.name)
        let largest = windows.map(\.millis).max() ?? 0
        let usual: [(String, Int64)] = [
            ("5s", 5_000), ("15s", 15_000), ("30s", 30_000), ("1m", 60_000), ("5m", 300_000), ("15m", 900_000),
            ("1h", 3_600_000), ("4h", 14_400_000), ("1d", 86_400_000),
        ]
        let intervals = usual.filter { $0.1 % bucketStep == 0 && $0.1 <= largest }.map(\.0)
        func array(_ v: [String]) -> String { "[" + v.map { "\"\($0)\"" }.joined(separator: ", ") + "]" }
        return template.replacingOccurrences(of: "__WINDOWS__", with: array(names))
            .replacingOccurrences(of: "__WINDOW_DEFAULT__", with: names.contains("1h") ? "1h" : names[0])
            .replacingOccurrences(of: "__INTERVALS__", with: array(intervals.isEmpty ? ["\(bucketStep)ms"] : intervals))
            .replacingOccurrences(
                of: "__INTERVAL_DEFAULT__", with: intervals.contains("1m") ? "1m" : intervals.first ?? "\(bucketStep)ms"
            )
    }

    static let template: String = #"""
        {
          "openapi": "3.1.0",
          "info": {
            "title": "swapstats",
            "version": "1.0.0",
            "description": "Exact streaming swap statistics over sliding windows (contract §3)."
          },
          "paths": {
            "/tokens/{token}/stats": {
              "get": {
                "summary": "Stats of one token in every window",
                "parameters": [{"$ref": "#/components/parameters/token"}],
                "responses": {
                  "200": {"description": "Stats", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/TokenStats"}}}},
                  "400": {"$ref": "#/components/responses/Problem"},
                  "401": {"$ref": "#/components/responses/Problem"},
                  "429": {"$ref": "#/components/responses/Problem"},
                  "404": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/tokens/top": {
              "get": {
                "summary": "Ranking across all tokens",
                "parameters": [
                  {"name": "window", "in": "query", "schema": {"type": "string", "enum": __WINDOWS__, "default": "__WINDOW_DEFAULT__"}},
                  {"name": "by", "in": "query", "schema": {"type": "string", "enum": ["volumeUsd", "txns", "uniqueWallets", "priceChangePct", "priceStdDev"], "default": "volumeUsd"}},
                  {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 1000, "default": 20}}
                ],
                "responses": {
                  "200": {"description": "Ranking", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Top"}}}},
                  "400": {"$ref": "#/components/responses/Problem"},
                  "401": {"$ref": "#/components/responses/Problem"},
                  "429": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/tokens/{token}/candles": {
              "get": {
                "summary": "OHLCV candles from the buckets",
                "parameters": [
                  {"$ref": "#/components/parameters/token"},
                  {"name": "interval", "in": "query", "schema": {"type": "string", "enum": __INTERVALS__, "default": "__INTERVAL_DEFAULT__"}, "description": "A multiple of the bucket step, at most the largest window; these are the usual ones."},
                  {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1, "maximum": 5000, "default": 300}}
                ],
                "responses": {
                  "200": {"description": "Candles, oldest first", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Candles"}}}},
                  "400": {"$ref": "#/components/responses/Problem"},
                  "401": {"$ref": "#/components/responses/Problem"},
                  "429": {"$ref": "#/components/responses/Problem"},
                  "404": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/tokens/{token}/ws": {
              "get": {
                "summary": "WebSocket: a snapshot, then coalesced stats updates (and trades with trades=1); see README",
                "parameters": [
                  {"$ref": "#/components/parameters/token"},
                  {"name": "trades", "in": "query", "schema": {"type": "string", "enum": ["0", "1"], "default": "0"}}
                ],
                "responses": {
                  "101": {"description": "Switching to the WebSocket protocol"},
                  "400": {"$ref": "#/components/responses/Problem"},
                  "401": {"$ref": "#/components/responses/Problem"},
                  "426": {"$ref": "#/components/responses/Problem"},
                  "429": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/ws": {
              "get": {
                "summary": "WebSocket: subscribe to many tokens by message; see README",
                "responses": {
                  "101": {"description": "Switching to the WebSocket protocol"},
                  "401": {"$ref": "#/components/responses/Problem"},
                  "426": {"$ref": "#/components/responses/Problem"},
                  "429": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/healthz": {
              "get": {"summary": "Process alive", "responses": {"200": {"description": "Alive", "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}}}}}}
            },
            "/readyz": {
              "get": {
                "summary": "Assigned partitions restored and consuming",
                "responses": {
                  "200": {"description": "Ready", "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {"status": {"type": "string"}}}}}},
                  "503": {"$ref": "#/components/responses/Problem"}
                }
              }
            },
            "/metrics": {
              "get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "Text format 0.0.4", "content": {"text/plain": {"schema": {"type": "string"}}}}}}
            },
            "/openapi.json": {
              "get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1", "content": {"application/json": {"schema": {"type": "object"}}}}}}
            }
          },
          "components": {
            "parameters": {
              "token": {"name": "token", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[\\x21-\\x7E]{1,128}$"}, "description": "Token id, case-insensitive (lowercased). Any UTF-8 of 1-128 bytes is accepted; ids are ASCII in practice."}
            },
            "responses": {
              "Problem": {"description": "RFC 9457 problem", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}
            },
            "schemas": {
              "Problem": {"type": "object", "required": ["type", "title", "status"], "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}}},
              "Trade": {"type": "object", "required": ["id", "ts", "side", "price", "usd", "who"], "properties": {"id": {"type": "string"}, "ts": {"type": "integer"}, "side": {"type": "string", "enum": ["buy", "sell"]}, "price": {"type": "number"}, "usd": {"type": "number"}, "who": {"type": "string"}}},
              "Window": {
                "type": "object",
                "required": ["from", "to", "txns", "buys", "sells", "volumeUsd", "buyVolumeUsd", "sellVolumeUsd", "volumeToken", "uniqueWallets", "uniqueBuyers", "uniqueSellers", "open", "high", "low", "close", "priceChangePct", "vwap", "priceStdDev"],
                "properties": {
                  "from": {"type": "integer"}, "to": {"type": "integer"},
                  "txns": {"type": "integer"}, "buys": {"type": "integer"}, "sells": {"type": "integer"},
                  "volumeUsd": {"type": "number"}, "buyVolumeUsd": {"type": "number"}, "sellVolumeUsd": {"type": "number"}, "volumeToken": {"type": "number"},
                  "uniqueWallets": {"type": "integer"}, "uniqueBuyers": {"type": "integer"}, "uniqueSellers": {"type": "integer"},
                  "open": {"type": ["number", "null"]}, "high": {"type": ["number", "null"]}, "low": {"type": ["number", "null"]}, "close": {"type": ["number", "null"]},
                  "priceChangePct": {"type": ["number", "null"]}, "vwap": {"type": ["number", "null"]}, "priceStdDev": {"type": ["number", "null"]}
                }
              },
              "TokenStats": {"type": "object", "required": ["token", "asOf", "lastTrade", "windows"], "properties": {"token": {"type": "string"}, "asOf": {"type": "integer"}, "lastTrade": {"oneOf": [{"$ref": "#/components/schemas/Trade"}, {"type": "null"}]}, "windows": {"type": "object", "additionalProperties": {"$ref": "#/components/schemas/Window"}}}},
              "Top": {"type": "object", "required": ["window", "by", "asOf", "tokens"], "properties": {"window": {"type": "string"}, "by": {"type": "string"}, "asOf": {"type": ["integer", "null"]}, "tokens": {"type": "array", "items": {"type": "object", "required": ["token", "value"], "properties": {"token": {"type": "string"}, "value": {"type": "number"}}}}}},
              "Candles": {"type": "object", "required": ["token", "interval", "asOf", "candles"], "properties": {"token": {"type": "string"}, "interval": {"type": "string"}, "asOf": {"type": "integer"}, "candles": {"type": "array", "items": {"type": "object", "required": ["start", "open", "high", "low", "close", "volumeUsd", "volumeToken", "txns"], "properties": {"start": {"type": "integer"}, "open": {"type": "number"}, "high": {"type": "number"}, "low": {"type": "number"}, "close": {"type": "number"}, "volumeUsd": {"type": "number"}, "volumeToken": {"type": "number"}, "txns": {"type": "integer"}}}}}}
            }
          }
        }
        """#
}
