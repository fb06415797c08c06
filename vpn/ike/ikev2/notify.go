package ikev2

import (
	"encoding/binary"
	"fmt"
)

// NotifyType is a Notify Message Type (RFC 7296 3.10.1, RFC 7383).
// Types below 16384 are errors.
type NotifyType uint16

// Notify types used here.
const (
	UnsupportedCriticalPayload NotifyType = 1
	InvalidIKESPI              NotifyType = 4
	InvalidMajorVersion        NotifyType = 5
	InvalidSyntax              NotifyType = 7
	InvalidMessageID           NotifyType = 9
	InvalidSPI                 NotifyType = 11
	NoProposalChosen           NotifyType = 14
	InvalidKEPayload           NotifyType = 17
	AuthenticationFailed       NotifyType = 24
	SinglePairRequired         NotifyType = 34
	NoAdditionalSAs            NotifyType = 35
	InternalAddressFailure     NotifyType = 36
	FailedCPRequired           NotifyType = 37
	TSUnacceptable             NotifyType = 38
	InvalidSelectors           NotifyType = 39
	TemporaryFailure           NotifyType = 43
	ChildSANotFound            NotifyType = 44

	InitialContact              NotifyType = 16384
	SetWindowSize               NotifyType = 16385
	AdditionalTSPossible        NotifyType = 16386
	NATDetectionSourceIP        NotifyType = 16388
	NATDetectionDestinationIP   NotifyType = 16389
	Cookie                      NotifyType = 16390
	UseTransportMode            NotifyType = 16391
	RekeySA                     NotifyType = 16393
	ESPTFCPaddingNotSupported   NotifyType = 16394
	NonFirstFragmentsAlso       NotifyType = 16395
	IKEv2FragmentationSupported NotifyType = 16430
	SignatureHashAlgorithms     NotifyType = 16431
)

var notifyNames = map[NotifyType]string{
	UnsupportedCriticalPayload: "UNSUPPORTED_CRITICAL_PAYLOAD", InvalidIKESPI: "INVALID_IKE_SPI",
	InvalidMajorVersion: "INVALID_MAJOR_VERSION", InvalidSyntax: "INVALID_SYNTAX", InvalidMessageID: "INVALID_MESSAGE_ID",
	InvalidSPI: "INVALID_SPI", NoProposalChosen: "NO_PROPOSAL_CHOSEN", InvalidKEPayload: "INVALID_KE_PAYLOAD",
	AuthenticationFailed: "AUTHENTICATION_FAILED", SinglePairRequired: "SINGLE_PAIR_REQUIRED",
	NoAdditionalSAs: "NO_ADDITIONAL_SAS", InternalAddressFailure: "INTERNAL_ADDRESS_FAILURE",
	FailedCPRequired: "FAILED_CP_REQUIRED", TSUnacceptable: "TS_UNACCEPTABLE", InvalidSelectors: "INVALID_SELECTORS",
	TemporaryFailure: "TEMPORARY_FAILURE", ChildSANotFound: "CHILD_SA_NOT_FOUND",
	InitialContact: "INITIAL_CONTACT", SetWindowSize: "SET_WINDOW_SIZE", AdditionalTSPossible: "ADDITIONAL_TS_POSSIBLE",
	NATDetectionSourceIP: "NAT_DETECTION_SOURCE_IP", NATDetectionDestinationIP: "NAT_DETECTION_DESTINATION_IP",
	Cookie: "COOKIE", UseTransportMode: "USE_TRANSPORT_MODE", RekeySA: "REKEY_SA",
	ESPTFCPaddingNotSupported: "ESP_TFC_PADDING_NOT_SUPPORTED", NonFirstFragmentsAlso: "NON_FIRST_FRAGMENTS_ALSO",
	IKEv2FragmentationSupported: "IKEV2_FRAGMENTATION_SUPPORTED", SignatureHashAlgorithms: "SIGNATURE_HASH_ALGORITHMS",
}

func (t NotifyType) String() string {
	if s, ok := notifyNames[t]; ok {
		return s
	}
	return fmt.Sprintf("notify(%d)", uint16(t))
}

// IsError reports whether the type is an error notification.
func (t NotifyType) IsError() bool { return t < 16384 }

// Notify is the Notify payload.
type Notify struct {
	Protocol   ProtocolID // 0 when no SPI applies
	SPI        []byte
	NotifyType NotifyType
	Data       []byte
}

// Type implements Payload.
func (*Notify) Type() PayloadType { return PayloadNotify }

// AppendBody implements Payload.
func (n *Notify) AppendBody(b []byte) []byte {
	b = append(b, byte(n.Protocol), byte(len(n.SPI)))
	b = binary.BigEndian.AppendUint16(b, uint16(n.NotifyType))
	return append(append(b, n.SPI...), n.Data...)
}

func decodeNotify(b []byte) (*Notify, error) {
	if len(b) < 4 || len(b) < 4+int(b[1]) {
		return nil, fmt.Errorf("notify: %w", errShort)
	}
	spi := int(b[1])
	return &Notify{Protocol: ProtocolID(b[0]), NotifyType: NotifyType(binary.BigEndian.Uint16(b[2:])), SPI: b[4 : 4+spi], Data: b[4+spi:]}, nil
}
