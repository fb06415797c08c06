package isakmp

import (
	"encoding/binary"
	"fmt"
)

// NotifyType is a notify message type (RFC 2408 3.14.1, RFC 2407 4.6.3, RFC 3706).
type NotifyType uint16

// Notify message types used by IKEv1.
const (
	NotifyInvalidPayloadType     NotifyType = 1
	NotifyInvalidCookie          NotifyType = 4
	NotifyInvalidExchangeType    NotifyType = 7
	NotifyInvalidMessageID       NotifyType = 9
	NotifyInvalidSPI             NotifyType = 11
	NotifyNoProposalChosen       NotifyType = 14
	NotifyPayloadMalformed       NotifyType = 16
	NotifyInvalidKeyInformation  NotifyType = 17
	NotifyInvalidIDInformation   NotifyType = 18
	NotifyInvalidHashInformation NotifyType = 23
	NotifyAuthenticationFailed   NotifyType = 24
	NotifyResponderLifetime      NotifyType = 24576
	NotifyReplayStatus           NotifyType = 24577
	NotifyInitialContact         NotifyType = 24578
	NotifyRUThere                NotifyType = 36136
	NotifyRUThereAck             NotifyType = 36137
)

func (t NotifyType) String() string {
	switch t {
	case NotifyInvalidPayloadType:
		return "INVALID-PAYLOAD-TYPE"
	case NotifyInvalidCookie:
		return "INVALID-COOKIE"
	case NotifyInvalidExchangeType:
		return "INVALID-EXCHANGE-TYPE"
	case NotifyInvalidMessageID:
		return "INVALID-MESSAGE-ID"
	case NotifyInvalidSPI:
		return "INVALID-SPI"
	case NotifyNoProposalChosen:
		return "NO-PROPOSAL-CHOSEN"
	case NotifyPayloadMalformed:
		return "PAYLOAD-MALFORMED"
	case NotifyInvalidKeyInformation:
		return "INVALID-KEY-INFORMATION"
	case NotifyInvalidIDInformation:
		return "INVALID-ID-INFORMATION"
	case NotifyInvalidHashInformation:
		return "INVALID-HASH-INFORMATION"
	case NotifyAuthenticationFailed:
		return "AUTHENTICATION-FAILED"
	case NotifyResponderLifetime:
		return "RESPONDER-LIFETIME"
	case NotifyReplayStatus:
		return "REPLAY-STATUS"
	case NotifyInitialContact:
		return "INITIAL-CONTACT"
	case NotifyRUThere:
		return "R-U-THERE"
	case NotifyRUThereAck:
		return "R-U-THERE-ACK"
	}
	return fmt.Sprintf("notify(%d)", uint16(t))
}

// Notification is the Notification payload.
type Notification struct {
	DOI      uint32
	Protocol ProtocolID
	Notify   NotifyType
	SPI      []byte
	Data     []byte
}

// Type implements Payload.
func (*Notification) Type() PayloadType { return PayloadNotification }

// AppendBody implements Payload.
func (n *Notification) AppendBody(b []byte) []byte {
	b = binary.BigEndian.AppendUint32(b, n.DOI)
	b = append(b, byte(n.Protocol), byte(len(n.SPI)))
	b = binary.BigEndian.AppendUint16(b, uint16(n.Notify))
	b = append(b, n.SPI...)
	return append(b, n.Data...)
}

func decodeNotification(b []byte) (*Notification, error) {
	if len(b) < 8 {
		return nil, fmt.Errorf("body is %d bytes, need 8", len(b))
	}
	n := &Notification{
		DOI:      binary.BigEndian.Uint32(b),
		Protocol: ProtocolID(b[4]),
		Notify:   NotifyType(binary.BigEndian.Uint16(b[6:])),
	}
	spiLen := int(b[5])
	if spiLen > len(b)-8 {
		return nil, fmt.Errorf("SPI size %d, %d bytes left", spiLen, len(b)-8)
	}
	n.SPI = clone(b[8 : 8+spiLen])
	n.Data = clone(b[8+spiLen:])
	return n, nil
}
