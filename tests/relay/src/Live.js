// What keeps a screen live, and a write: a subscription to the child's team and a contact.
import { graphql } from "react-relay";

export const teamChanged = graphql`
  subscription LiveTeamChangedSubscription($childId: ID!) {
    teamChanged(childId: $childId) {
      type
      childId
      timestamp
      data
    }
  }
`;

export const notifications = graphql`
  subscription LiveNotificationsSubscription {
    myNotifications {
      id
      kind
      childId
      subject
    }
  }
`;

export const recordContact = graphql`
  mutation LiveRecordContactMutation($input: RecordContactInput!) {
    recordContact(input: $input) {
      id
      kind
      outcome
      at
    }
  }
`;
