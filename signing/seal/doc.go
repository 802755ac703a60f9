// Package seal implements Zhengzhao's electronic seals (电子印章) and
// electronic signatures made with them (电子签章), after GB/T 38540-2020
// 信息安全技术 安全电子签章密码技术规范, and reads the older GM/T 0031-2014
// format. It also draws the seal picture.
//
// # Formats
//
// [Make] writes a version 4 SESeal (GB/T 38540-2020) in DER:
//
//	SESeal ::= SEQUENCE {
//	  esealInfo   SES_SealInfo,
//	  cert        OCTET STRING,        -- the seal maker's certificate
//	  signAlgID   OBJECT IDENTIFIER,   -- 1.2.156.10197.1.501
//	  signedValue BIT STRING }         -- DER SEQUENCE { r, s } over the SES_SealInfo DER
//	SES_SealInfo ::= SEQUENCE {
//	  header   SES_Header,             -- { ID IA5String "ES", version INTEGER 4, Vid IA5String }
//	  esID     IA5String,
//	  property SES_ESPropertyInfo,
//	  picture  SES_ESPictrueInfo,      -- { type IA5String "PNG", data OCTET STRING, width INTEGER, height INTEGER } (mm)
//	  extDatas ExtensionDatas OPTIONAL }
//	SES_ESPropertyInfo ::= SEQUENCE {
//	  type INTEGER, name UTF8String,
//	  certListType INTEGER,            -- 1: certs, 2: certDigestList
//	  certList SES_CertList,           -- SEQUENCE OF OCTET STRING, or SEQUENCE OF CertDigestObj { type PrintableString, value OCTET STRING }
//	  createDate GeneralizedTime, validStart GeneralizedTime, validEnd GeneralizedTime }
//
// [Sign] writes a version 4 SES_Signature:
//
//	SES_Signature ::= SEQUENCE {
//	  toSign         TBS_Sign,
//	  cert           OCTET STRING,             -- the signer's certificate
//	  signatureAlgID OBJECT IDENTIFIER,        -- 1.2.156.10197.1.501
//	  signature      BIT STRING,               -- DER SEQUENCE { r, s } over the TBS_Sign DER
//	  timeStamp      [0] BIT STRING OPTIONAL } -- read, never written
//	TBS_Sign ::= SEQUENCE {
//	  version INTEGER 4, eseal SESeal, timeInfo GeneralizedTime,
//	  dataHash BIT STRING,                     -- SM3 of the document
//	  propertyInfo IA5String,
//	  extDatas [0] ExtensionDatas OPTIONAL }   -- read, never written
//
// [ParseSeal] and [ParseSignature] also read GM/T 0031-2014 (header and
// TBS_Sign version 1 to 3, reported as such): SESeal { esealInfo, signInfo
// SES_SignInfo { cert, signatureAlgorithm, signData } }, a property whose
// certList is a SEQUENCE OF OCTET STRING with UTCTime dates, and
// SES_Signature { toSign TBS_Sign { version, eseal, timeInfo BIT STRING,
// dataHash BIT STRING, propertyInfo IA5String, cert OCTET STRING,
// signatureAlgorithm OBJECT IDENTIFIER }, signature BIT STRING }. The maker
// of such a seal signed SEQUENCE { esealInfo, cert, signatureAlgorithm }.
//
// Every signature is SM2 with SM3 and the default user ID
// 1234567812345678 (OID 1.2.156.10197.1.501), made by a [signing.Signer];
// certificate digests in a certDigestList are SM3 (type "sm3", or OID
// 1.2.156.10197.1.401). Parsing is strict DER with size limits ([MaxSize],
// [MaxPictureSize]); any fault gives [ErrMalformed] naming the structure and
// field.
//
// # Verification
//
// [Seal.Verify] checks the maker's signature and that the maker is a trusted
// one. [VerifySignature] runs, in order, the checks seal-maker,
// seal-validity, signer-listed, signature and data-hash, and reports the
// first failure as a [*CheckError]. Trust comes in as parameters, and no
// function here reads the clock.
//
// # Picture
//
// [DrawPicture] draws a round red official seal — ring, the name along the
// upper arc, a five-pointed star, an optional bottom line — as a PNG shown
// [PictureDiameterMM] across, with a CJK TrueType font the caller reads
// (the binary finds one with render.FindFont).
package seal
