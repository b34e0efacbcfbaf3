/**
 * PostgreSQL v3 protocol constants, named as in the "Message Formats" chapter of the PostgreSQL
 * documentation (https://www.postgresql.org/docs/15/protocol-message-formats.html).
 * Pure data: no sockets, no timers.
 */

/** Codes that open a startup-phase packet (length-only framing). */
export const enum StartupCode {
  /** StartupMessage, protocol 3.0 */
  ProtocolV3 = 196608,
  /** SSLRequest */
  SSLRequest = 80877103,
  /** GSSENCRequest */
  GSSENCRequest = 80877104,
  /** CancelRequest */
  CancelRequest = 80877102,
}

/** Messages the client sends after startup (type byte). */
export const enum FrontendCode {
  Bind = 0x42, // 'B'
  Close = 0x43, // 'C'
  CopyData = 0x64, // 'd'
  CopyDone = 0x63, // 'c'
  CopyFail = 0x66, // 'f'
  Describe = 0x44, // 'D'
  Execute = 0x45, // 'E'
  Flush = 0x48, // 'H'
  FunctionCall = 0x46, // 'F'
  Parse = 0x50, // 'P'
  /** PasswordMessage, SASLInitialResponse, SASLResponse, GSSResponse share 'p'. */
  Password = 0x70, // 'p'
  Query = 0x51, // 'Q'
  Sync = 0x53, // 'S'
  Terminate = 0x58, // 'X'
}

/** Messages the server sends (type byte). */
export const enum BackendCode {
  Authentication = 0x52, // 'R'
  BackendKeyData = 0x4b, // 'K'
  BindComplete = 0x32, // '2'
  CloseComplete = 0x33, // '3'
  CommandComplete = 0x43, // 'C'
  CopyInResponse = 0x47, // 'G'
  CopyOutResponse = 0x48, // 'H'
  DataRow = 0x44, // 'D'
  EmptyQueryResponse = 0x49, // 'I'
  ErrorResponse = 0x45, // 'E'
  NoData = 0x6e, // 'n'
  NoticeResponse = 0x4e, // 'N'
  NotificationResponse = 0x41, // 'A'
  ParameterDescription = 0x74, // 't'
  ParameterStatus = 0x53, // 'S'
  ParseComplete = 0x31, // '1'
  ReadyForQuery = 0x5a, // 'Z'
  RowDescription = 0x54, // 'T'
}

/** ReadyForQuery transaction status byte. */
export const enum TxStatus {
  Idle = 0x49, // 'I'
  InTransaction = 0x54, // 'T'
  Failed = 0x45, // 'E'
}

/** Authentication request subtypes ('R' body, first Int32). */
export const enum AuthCode {
  Ok = 0,
  CleartextPassword = 3,
  MD5Password = 5,
  SASL = 10,
  SASLContinue = 11,
  SASLFinal = 12,
}
